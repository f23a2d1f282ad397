// The awk program the droplet uses at launch to read VCAP_SERVICES / VCAP_APPLICATION without
// node or jq: a strict JSON reader (mawk-compatible, byte-oriented under LC_ALL=C) that prints one
// value octal-escaped, so the shell turns it back into bytes with `printf %b` and never evaluates it.

/**
 * Inputs (all through ENVIRON, never `-v`, which would interpret backslashes):
 * - `SB_JSON_VAR`: the variable holding the document (`VCAP_SERVICES`, `VCAP_APPLICATION`).
 * - `SB_MODE=key`: print the top-level string `SB_KEY`.
 * - `SB_MODE=service`: find the first service instance whose `name`/`label`/`tags[]` (`SB_BY`)
 *   equals `SB_IS`, print its `credentials.<SB_CRED>`: strings decoded, numbers and booleans as
 *   written, objects and arrays as their JSON text.
 * - `SB_CONTEXT`: prefix of every message on stderr (`sidecar agent: TOKEN`).
 * Output: letters and digits as is, every other byte as `\0ooo`. Exit 0 found, 1 not found,
 * 2 the document is not valid JSON. Messages never contain a credential.
 */
export const VCAP_AWK = String.raw`# JSON reader of sidecar-buildpack (generated): prints one value octal-escaped; see vcap-awk.ts
function fail(code, msg) {
  if (ENVIRON["SB_MODE"] == "service") msg = msg "; left unset"
  printf "%s: %s\n", ENVIRON["SB_CONTEXT"], msg > "/dev/stderr"; exit code
}
function bad(what) { fail(2, SRC " is not valid JSON (" what " at byte " P ")") }
function ws(  c) {
  while (P <= N) { c = substr(S, P, 1); if (c != " " && c != "\t" && c != "\n" && c != "\r") return; P++ }
}
function hex4(  i, c, d, v) {
  v = 0
  for (i = 0; i < 4; i++) {
    c = tolower(substr(S, P + i, 1)); d = index("0123456789abcdef", c)
    if (c == "" || d == 0) bad("bad \\u escape")
    v = v * 16 + d - 1
  }
  P += 4
  return v
}
function utf8(v) {
  if (v < 128) return sprintf("%c", v)
  if (v < 2048) return sprintf("%c%c", 192 + int(v / 64), 128 + v % 64)
  if (v < 65536) return sprintf("%c%c%c", 224 + int(v / 4096), 128 + int(v / 64) % 64, 128 + v % 64)
  return sprintf("%c%c%c%c", 240 + int(v / 262144), 128 + int(v / 4096) % 64, 128 + int(v / 64) % 64, 128 + v % 64)
}
# A string at P (on its opening quote); sets STRNUL when it held \u0000, which no env var can hold.
function str(  out, c, e, j, v, lo) {
  P++; out = ""; STRNUL = 0
  while (1) {
    j = P
    while (j <= N) { c = substr(S, j, 1); if (c == "\"" || c == "\\" || ORD[c] < 32) break; j++ }
    out = out substr(S, P, j - P); P = j
    if (P > N) bad("unterminated string")
    if (c == "\"") { P++; return out }
    if (c != "\\") bad("control character in string")
    e = substr(S, P + 1, 1); P += 2
    if (e == "\"" || e == "\\" || e == "/") out = out e
    else if (e == "n") out = out "\n"
    else if (e == "t") out = out "\t"
    else if (e == "r") out = out "\r"
    else if (e == "b") out = out "\b"
    else if (e == "f") out = out "\f"
    else if (e == "u") {
      v = hex4()
      if (v >= 55296 && v < 56320 && substr(S, P, 2) == "\\u") {
        P += 2; lo = hex4()
        if (lo >= 56320 && lo < 57344) v = 65536 + (v - 55296) * 1024 + (lo - 56320)
        else { out = out utf8(65533); v = lo }
      }
      if (v >= 55296 && v < 57344) v = 65533
      if (v == 0) STRNUL = 1; else out = out utf8(v)
    } else bad("bad escape")
  }
}
# The value at P, recorded under PATH: T type (s n b z o a), V value (decoded string or JSON text),
# NK/K for the keys of objects and items of arrays, in document order.
function value(path,  c, c2, start, k, cnt) {
  ws(); c = substr(S, P, 1); start = P
  if (c == "{" || c == "[") {
    T[path] = (c == "{") ? "o" : "a"; P++; cnt = 0; ws()
    if (substr(S, P, 1) == (c == "{" ? "}" : "]")) P++
    else while (1) {
      cnt++
      if (c == "{") {
        ws(); if (substr(S, P, 1) != "\"") bad("expected a key")
        k = str()
        # SUBSEP joins path parts: a key holding it must not reach another path.
        gsub(SUBSEP, "\035\036", k)
        ws(); if (substr(S, P, 1) != ":") bad("expected :")
        P++
      } else k = cnt
      K[path, cnt] = k
      value(path SUBSEP k)
      ws(); c2 = substr(S, P, 1); P++
      if (c2 == ",") continue
      if (c2 == (c == "{" ? "}" : "]")) break
      bad("expected , or a closing bracket")
    }
    NK[path] = cnt; V[path] = substr(S, start, P - start)
  } else if (c == "\"") {
    T[path] = "s"; V[path] = str(); if (STRNUL) HASNUL[path] = 1
  } else if (substr(S, P, 4) == "true" || substr(S, P, 4) == "null") {
    T[path] = (c == "t") ? "b" : "z"; V[path] = substr(S, P, 4); P += 4
  } else if (substr(S, P, 5) == "false") {
    T[path] = "b"; V[path] = "false"; P += 5
  } else if (c ~ /[-0-9]/) {
    while (P <= N && substr(S, P, 1) ~ /[-+.eE0-9]/) P++
    T[path] = "n"; V[path] = substr(S, start, P - start)
    if (V[path] !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) bad("bad number")
  } else bad(c == "" ? "unexpected end" : "unexpected character")
}
function emit(path,  v, i, c, out) {
  if (HASNUL[path]) fail(1, "the value holds a NUL character, which an environment variable cannot hold")
  v = V[path]; out = ""
  for (i = 1; i <= length(v); i++) {
    c = substr(v, i, 1)
    out = out ((c ~ /[A-Za-z0-9]/) ? c : sprintf("\\0%03o", ORD[c]))
  }
  printf "%s", out
}
function matches(inst, top,  by, want, t, i) {
  by = ENVIRON["SB_BY"]; want = ENVIRON["SB_IS"]
  if (by == "name") return T[inst SUBSEP "name"] == "s" && V[inst SUBSEP "name"] == want
  if (by == "label") {
    if (T[inst SUBSEP "label"] == "s") return V[inst SUBSEP "label"] == want
    return top == want
  }
  t = inst SUBSEP "tags"
  if (T[t] != "a") return 0
  for (i = 1; i <= NK[t]; i++) if (T[t SUBSEP i] == "s" && V[t SUBSEP i] == want) return 1
  return 0
}
function describe() { return "with " ENVIRON["SB_BY"] " \"" ENVIRON["SB_IS"] "\"" }
BEGIN {
  for (i = 1; i < 256; i++) ORD[sprintf("%c", i)] = i
  SRC = ENVIRON["SB_JSON_VAR"]; S = ENVIRON[SRC]; N = length(S); P = 1
  if (S ~ /^[ \t\r\n]*$/) fail(1, SRC " is not set")
  value(""); ws(); if (P <= N) bad("trailing characters")
  if (ENVIRON["SB_MODE"] == "key") {
    kp = SUBSEP ENVIRON["SB_KEY"]
    if (T[""] != "o" || T[kp] != "s") fail(1, SRC " has no string " ENVIRON["SB_KEY"])
    emit(kp); exit 0
  }
  if (T[""] != "o") fail(1, SRC " is not a JSON object")
  found = ""; count = 0
  for (i = 1; i <= NK[""]; i++) {
    top = K["", i]; tp = SUBSEP top
    if (T[tp] != "a") continue
    for (j = 1; j <= NK[tp]; j++) {
      inst = tp SUBSEP j
      if (T[inst] == "o" && matches(inst, top)) { count++; if (found == "") found = inst }
    }
  }
  if (found == "") fail(1, "no service instance in " SRC " " describe())
  nm = (T[found SUBSEP "name"] == "s") ? V[found SUBSEP "name"] : "?"
  if (count > 1) printf "%s: %d service instances %s; using the first, \"%s\"\n", ENVIRON["SB_CONTEXT"], count, describe(), nm > "/dev/stderr"
  cp = found SUBSEP "credentials" SUBSEP ENVIRON["SB_CRED"]
  if (T[cp] == "" || T[cp] == "z") fail(1, "service instance \"" nm "\" has no credential \"" ENVIRON["SB_CRED"] "\"")
  emit(cp)
  exit 0
}
`;

/** The same escaping the awk program applies, for values known at render time (process types). */
export function octalEscape(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9]/.test(c) ? c : `\\0${byte.toString(8).padStart(3, '0')}`;
  }
  return out;
}
