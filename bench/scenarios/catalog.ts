/**
 * @module bench/scenarios/catalog
 * The table of scenarios by name, in the order `npm run bench` runs them when no --scenario is given.
 * A new scenario is one file in this folder plus one line here.
 */
import { pass1k } from './pass-1k.js';
import type { Scenario } from '../lib/scenario.js';

export const SCENARIOS: readonly Scenario[] = [pass1k];
