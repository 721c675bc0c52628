/**
 * @module config/origin-ca
 * Reads and checks an `<Origin><CA>` file (PEM CA certificates for HTTPS origins). The one file validation reads
 * itself: workers get the PEM text with the config, so a reload re-reads it and a worker never touches the file.
 * Runs in the primary (start, SIGHUP reload) and in `flint check-config`.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The PEM text of a CA file, or why it cannot be used (no path or library detail beyond the OS reason). */
export type CaFileResult = { readonly ok: true; readonly pem: string } | { readonly ok: false; readonly error: string };

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Reads `file`: it must hold at least one PEM certificate, and every certificate block in it must parse. */
export function readCaFile(file: string): CaFileResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    return { ok: false, error: `cannot read ${JSON.stringify(file)}: ${reason}` };
  }
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) return { ok: false, error: `${JSON.stringify(file)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` };
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return { ok: false, error: `${JSON.stringify(file)}: certificate ${i + 1} of ${blocks.length} is not a valid X.509 certificate` };
    }
  }
  return { ok: true, pem: blocks.join('\n') };
}
