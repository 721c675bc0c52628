/**
 * @module config/print-reference
 * Prints the configuration reference (config/schema.ts) as Markdown on stdout. Run by people, not by Flint:
 * `node dist/src/config/print-reference.js > docs/configuration.md`; test/unit/config-doc.test.ts checks the result.
 */
import { renderConfigReference } from './schema.js';

process.stdout.write(renderConfigReference());
