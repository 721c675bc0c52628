/**
 * @module bench/clients/autocannon
 * The part of autocannon 8's programmatic API the bench uses (autocannon ships no types). Only what
 * bench/clients/zipf-client.ts and bench/ab-miss.ts (`--rate`) call is declared; the result's figures are read as
 * numbers and checked there.
 */
declare module 'autocannon' {
  export interface AutocannonRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    /** Called before each request of a connection: return the request to send (`context` is per connection). */
    setupRequest?: (req: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
    /** Called on each complete response: the body as a string (utf8-decoded), headers as sent by the server. */
    onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string | string[]>) => void;
  }
  export interface AutocannonOptions {
    url: string;
    connections?: number;
    duration?: number;
    pipelining?: number;
    /** Requests per second over all connections (paced load); unset: as fast as the server answers. */
    overallRate?: number;
    timeout?: number;
    requests?: AutocannonRequest[];
  }
  export interface Histogram {
    readonly average: number;
    readonly max: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly total: number;
  }
  export interface AutocannonResult {
    readonly duration: number;
    readonly errors: number;
    readonly timeouts: number;
    readonly non2xx: number;
    readonly latency: Histogram;
    readonly requests: Histogram & { readonly sent: number };
    readonly throughput: Histogram;
  }
  function autocannon(opts: AutocannonOptions, cb: (err: Error | null, result: AutocannonResult) => void): unknown;
  export default autocannon;
}
