/**
 * @module bench/scenarios/catalog
 * The table of scenarios by name, in the order `npm run bench` runs them when no --scenario is given.
 * A new scenario is one file in this folder plus one line here.
 */
import { cold100 } from './cold-100.js';
import { hit1k, hit1kC200, hit1m, hit64k, hit64kC200, hit64m, revalidate304 } from './hit.js';
import { hit1kRules } from './hit-rules.js';
import { hit64kGzip } from './hit-gzip.js';
import { dimsResize } from './dims.js';
import { hit1kPolicy, hit1kPolicyLogged } from './hit-policy.js';
import { hit1kH2, hit1kTls } from './hit-tls.js';
import { miss } from './miss.js';
import { missTagged } from './miss-tagged.js';
import { pass1k } from './pass-1k.js';
import { range256m } from './range-256m.js';
import { tlsEngines } from './tls-engines.js';
import { workers } from './workers.js';
import { zipf } from './zipf.js';
import type { Scenario } from '../lib/scenario.js';

export const SCENARIOS: readonly Scenario[] = [pass1k, hit1k, hit64k, hit1kC200, hit64kC200, hit1m, hit64m, revalidate304, hit1kRules, hit1kPolicy, hit1kPolicyLogged, hit64kGzip, dimsResize, hit1kTls, hit1kH2, tlsEngines, miss, missTagged, cold100, range256m, zipf, workers];
