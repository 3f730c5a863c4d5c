/**
 * The code that prepares a fresh isolate before the tool's module is loaded: it takes away the
 * built-ins the level removes, installs the level's globals (`fetch`, `env`, `console`,
 * timers, encoders, `crypto`) over the host callbacks it is handed, and returns `bind`, which
 * turns an export of the module into the runner the host calls. The host callbacks stay in this
 * closure (never on the global object), take and return strings only, and are asynchronous
 * (their promises settle inside the isolate, under its limits), but random bytes; they answer
 * `"1"` + a value or `"0"` + an error message, never a rejection.
 *
 * The runner always resolves to a string: the result's JSON, or `\u0000<code>:<text>` when the
 * code threw, the result is not JSON or is too large. So nothing but a string ever leaves the
 * isolate: no reference, no object with a getter or a prototype the host would touch.
 * JSON.parse/stringify and the other intrinsics the runner uses are captured before the tool's
 * code runs, so the code cannot swap them.
 */
export const PRELUDE = String.raw`
"use strict";
const ErrorC = Error, StringC = String;
const unwrap = (s) => { if (s[0] === "1") return s.slice(1); throw new ErrorC(s.slice(1)) };
const fetchRef = $0, sleepRef = $1, hostLog = $2, hostRandom = $3;
// options with no prototype: a polluted Object.prototype cannot add transfer options to them
const viaHost = { __proto__: null, arguments: { __proto__: null, copy: true }, result: { __proto__: null, promise: true, copy: true } };
const hostFetch = async (u, i) => unwrap(await fetchRef.apply(undefined, [StringC(u), StringC(i)], viaHost));
const hostSleep = async (ms) => unwrap(await sleepRef.apply(undefined, [ms], viaHost));
const spec = JSON.parse($4);
const g = globalThis;
const parse = JSON.parse, stringify = JSON.stringify, freeze = Object.freeze, defineProperty = Object.defineProperty;
const PromiseC = Promise, ObjectC = Object, ArrayC = Array, Uint8ArrayC = Uint8Array;
const has = (n) => spec.globals.indexOf(n) >= 0;
for (const name of spec.removed) delete g[name];
let env = freeze({});
if (has("env")) defineProperty(g, "env", { get() { return env }, configurable: false, enumerable: false });

const safeText = (e) => { try { return StringC(e && typeof e === "object" && "message" in e ? e.message : e) } catch { return "(an error that cannot be printed)" } };

if (has("fetch")) {
  class Headers {
    #map = new Map();
    constructor(init) {
      if (init == null) return;
      const pairs = ArrayC.isArray(init) ? init : typeof init.entries === "function" ? [...init.entries()] : ObjectC.entries(init);
      for (const [k, v] of pairs) this.#map.set(StringC(k).toLowerCase(), StringC(v));
    }
    get(k) { const v = this.#map.get(StringC(k).toLowerCase()); return v === undefined ? null : v }
    has(k) { return this.#map.has(StringC(k).toLowerCase()) }
    set(k, v) { this.#map.set(StringC(k).toLowerCase(), StringC(v)) }
    entries() { return this.#map.entries() }
    forEach(f) { for (const [k, v] of this.#map) f(v, k, this) }
    [Symbol.iterator]() { return this.#map.entries() }
  }
  class Response {
    #body;
    constructor(r) { this.#body = r.body; this.status = r.status; this.statusText = r.statusText; this.url = r.url; this.ok = r.status >= 200 && r.status < 300; this.headers = new Headers(r.headers) }
    async text() { return this.#body }
    async json() { return parse(this.#body) }
  }
  g.Headers = Headers;
  g.fetch = async function fetch(input, init) {
    const url = typeof input === "string" ? input : input && typeof input.url === "string" ? input.url : StringC(input);
    const i = init == null ? {} : init;
    const body = i.body == null ? undefined : typeof i.body === "string" ? i.body : stringify(i.body);
    const headers = i.headers == null ? undefined : ObjectC.fromEntries(new Headers(i.headers).entries());
    const text = await hostFetch(url, stringify({ method: i.method, headers, body }));
    return new Response(parse(text));
  };
}
if (has("console")) {
  const out = (level) => (...a) => { try { hostLog(level, a.map((x) => typeof x === "string" ? x : (() => { try { return stringify(x) } catch { return StringC(x) } })()).join(" ").slice(0, 4096)) } catch {} };
  g.console = freeze({ log: out("info"), info: out("info"), warn: out("warn"), error: out("error"), debug: out("debug") });
}
if (has("setTimeout")) {
  const live = new Set(); let next = 1;
  g.setTimeout = (f, ms, ...a) => { const id = next++; live.add(id); hostSleep(+ms > 0 ? +ms : 0).then(() => { if (live.delete(id) && typeof f === "function") f(...a) }, () => live.delete(id)); return id };
  g.clearTimeout = (id) => { live.delete(id) };
}
if (has("TextEncoder")) {
  g.TextEncoder = class TextEncoder { get encoding() { return "utf-8" } encode(s = "") { const b = unescape(encodeURIComponent(StringC(s))); const u = new Uint8ArrayC(b.length); for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i); return u } };
  g.TextDecoder = class TextDecoder { get encoding() { return "utf-8" } decode(u) { if (u == null) return ""; const v = new Uint8ArrayC(u.buffer ? u.buffer : u, u.byteOffset || 0, u.byteLength); let s = ""; for (let i = 0; i < v.length; i += 8192) s += StringC.fromCharCode.apply(null, v.subarray(i, i + 8192)); return decodeURIComponent(escape(s)) } };
}
if (has("btoa")) {
  const A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  g.btoa = (s) => { s = StringC(s); let o = ""; for (let i = 0; i < s.length; i += 3) { const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2); if (a > 255 || b > 255 || c > 255) throw new ErrorC("btoa: character outside Latin1"); const n = (a << 16) | ((b || 0) << 8) | (c || 0); o += A[n >> 18 & 63] + A[n >> 12 & 63] + (i + 1 < s.length ? A[n >> 6 & 63] : "=") + (i + 2 < s.length ? A[n & 63] : "=") } return o };
  g.atob = (s) => { s = StringC(s).replace(/[\s=]/g, ""); let o = "", n = 0, bits = 0; for (const ch of s) { const v = A.indexOf(ch); if (v < 0) throw new ErrorC("atob: invalid base64"); n = (n << 6) | v; bits += 6; if (bits >= 8) { bits -= 8; o += StringC.fromCharCode((n >> bits) & 255) } } return o };
}
if (has("crypto")) {
  const hex = (n) => hostRandom(n);
  const getRandomValues = (u) => { const h = hex(u.byteLength); const b = new Uint8ArrayC(u.buffer, u.byteOffset, u.byteLength); for (let i = 0; i < b.length; i++) b[i] = parseInt(h.substr(i * 2, 2), 16); return u };
  const randomUUID = () => { const h = hex(16).split(""); h[12] = "4"; h[16] = "89ab"[parseInt(h[16], 16) & 3]; const s = h.join(""); return s.slice(0, 8) + "-" + s.slice(8, 12) + "-" + s.slice(12, 16) + "-" + s.slice(16, 20) + "-" + s.slice(20) };
  g.crypto = freeze({ getRandomValues, randomUUID });
}

return function bind(ns, entry) {
  const fn = ns[entry];
  if (typeof fn !== "function") return "\u0000invalid_module:the module has no " + (entry === "default" ? "default export" : "export " + stringify(entry)) + " that is a function";
  return async function run(argsJson, envJson, maxChars) {
    let result;
    try {
      env = freeze(parse(envJson));
      result = await fn(parse(argsJson), freeze({ env }));
    } catch (e) {
      return "\u0000thrown:" + safeText(e).slice(0, 2000);
    }
    let out;
    try { out = stringify(result === undefined ? null : result) } catch (e) { return "\u0000not_json:" + safeText(e).slice(0, 500) }
    if (typeof out !== "string") return "\u0000not_json:the result is a " + typeof result + ", not JSON";
    if (out.length > maxChars) return "\u0000result_too_large:" + out.length;
    return out;
  };
};
`
