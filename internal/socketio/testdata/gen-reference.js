// Generates reference.json: packets and frame sequences with the verdicts of
// the reference parser, for TestReferenceCorpus. Regenerate with
//
//   npm install socket.io-parser@4.2.7   (in a scratch directory)
//   NODE_PATH=<scratch>/node_modules node gen-reference.js > reference.json
//
// Each case is a list of frames ("t:<text packet without the EIO 4>" or
// "b:<hex>") and the reference's step-by-step outcome.
const { Decoder } = require("socket.io-parser");

let seed = 42;
function rnd(n) {
  // xorshift32: deterministic, no precision loss in JavaScript numbers
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}
function pick(a) {
  return a[rnd(a.length)];
}

const tokens = [
  "0", "1", "2", "3", "4", "5", "6", "7", "9", "-", "/", "/admin", ",", "[", "]", "{", "}",
  '"', '"a"', '"connect"', '"disconnect"', '"conn\\u0065ct"', '"newListener"', "1", "12", " ", "\t",
  "\u00a0", "\u3000", "\ufeff", "\u2028", "\n", "\u0085", "x", "e", ".", "+", "0x1", "0b1", "1e1",
  "Infinity", "true", "null", "false", '{"a":1}', "[]", "{}", '{"_placeholder":true,"num":0}',
  '{"num":1,"_placeholder":true}', '{"_placeholder":true,"num":0.5}', '{"_placeholder":true,"num":-1}',
  '{"_placeholder":true,"num":10}', '{"\\u005fplaceholder":true,"num":1}', ":", '"_placeholder"',
  "1.5", "-1", "é", "😀", "01", "007", "99999999999999999999", "18446744073709551615",
];
const types = ["0", "1", "2", "3", "4", "5", "6", "0", "1", "2", "3", "4", "5", "6", "2", "5", "7", "9", " ", "\u00a0", "a", "-", "/", "[", "\u3000"];
const counts = ["", "1", "2", "0", "3", "10", "11", " 1", "1 ", "0x2", "1e0", "1.0", "1.5", "+1", "a", "Infinity", "01", "\u00a01", "0b11", "2e-1"];
const nsps = ["", "/", "/admin", "/admin,", "/a b,", "/é,", "/,", "//x,", "/admin/x,"];
const ids = ["", "1", "12", "0", " ", "1 ", " 1", "1 2", "\u00a07", "007", "99999999999999999999", "18446744073709551615", "9007199254740993"];
const payloads = [
  "", "{}", '{"token":"123"}', "[]", '["foo"]', '["foo",1,{"a":[1,2]}]', "[1]", "[-1.5e3]", "[true]",
  "[null]", '[{"a":1}]', '[["a"]]', '"str"', "123", "true", "null", '["connect"]', '["connect_error"]',
  '["disconnect","x"]', '["disconnecting"]', '["newListener"]', '["removeListener"]', '["conn\\u0065ct"]',
  '["Connect"]', '[ "a" ]', '["a"] ', '["a"', "{", "abc", '{"message":"Invalid namespace"}',
  '["hello",{"_placeholder":true,"num":0}]', '[{"_placeholder":true,"num":0}]',
  '["a",{"x":[{"num":1,"_placeholder":true}]}]', '["a",{"_placeholder":true,"num":1}]',
  '["a",{"_placeholder":true,"num":0.5}]', '["a",{"_placeholder":true}]', '["a",{"_placeholder":true,"num":"0"}]',
  '["a",{"_placeholder":"true","num":5}]', '["a",{"_placeholder":true,"num":-0}]',
  '["a",{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":9}}]',
  '["a",{"_placeholder":true,"num":7,"num":0}]', '["a",{"\\u005fplaceholder":true,"num":3}]',
  '["a",{"__proto__":{"_placeholder":true,"num":4}}]', "[1e400]", '["\\ud800"]', '"\\u2028"',
];

const texts = new Set([
  "", "0", "0/custom", "0/custom,", '0{"token":"123"}', '0/admin,{"token":"123"}', "1", "1/admin,",
  '2["foo"]', '2/admin,12["bar"]', '212["foo"]', "3/admin,13[\"bar\"]", '4{"message":"Invalid namespace"}',
  '51-["hello",{"_placeholder":true,"num":0}]', '61-/admin,1[{"_placeholder":true,"num":0}]', "999",
  '2["connect"]', "2[]", "2{}", "2abc", "3{}", '0"str"', "1{}", '5-["a"]', '442["some","data"',
  '0/admin,"invalid"', "0[]", "1/admin,{}", '2/admin,"invalid', "2/admin,{}", '2[{"toString":"foo"}]',
  '2[true,"foo"]', '2[null,"bar"]', '2["disconnect","123"]', "5", "51", "50-", "5a-", "51.23-",
  '2[1,"a",{}]', "3[]", '4"Unauthorized"', '2[1.5]', '2[-1]', "2", "3", "4", "11", "1/admin,5",
  " ", " {}", "\u00a0{}", "\u3000", "2 [\"a\"]", "21 2[\"a\"]", '53-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]',
  '511-["a"]', '510-["a"]', "5Infinity-[\"a\"]", '2/admin', '2/admin,', '2/admin,1', "0/", "0/,", "0,",
]);
while (texts.size < 2500) {
  if (rnd(4) !== 0) {
    let s = pick(types);
    if (s === "5" || s === "6" || rnd(8) === 0) s += (rnd(3) ? "1" : pick(counts)) + (rnd(6) ? "-" : "");
    s += pick(nsps) + pick(ids) + pick(payloads);
    texts.add(s);
  } else {
    let s = pick(types);
    const k = rnd(7);
    for (let i = 0; i < k; i++) s += pick(tokens);
    texts.add(s);
  }
}

const cases = [...texts].map((t) => ["t:" + t]);
// Frame sequences: binary packets and their attachments, in and out of order.
const headers = [...texts].filter((t) => /^[56]/.test(t));
headers.push('52-["a",{"_placeholder":true,"num":1},{"x":{"_placeholder":true,"num":0}}]');
headers.push('63-/admin,9[{"_placeholder":true,"num":2},{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]');
const pendingHeaders = [];
for (const t of headers) {
  try {
    const d = new Decoder();
    d.add(t);
    if (d.reconstructor) pendingHeaders.push([t, d.reconstructor.reconPack.attachments]);
  } catch (e) {}
}
const blobs = ["", "00", "0102", "ff", "deadbeef"];
for (let i = 0; i < 600; i++) {
  const frames = [];
  if (rnd(3) !== 0) {
    const [h, n] = pick(pendingHeaders);
    frames.push("t:" + h);
    const m = n + pick([0, 0, 0, 0, -1, 1]);
    for (let j = 0; j < m; j++) frames.push("b:" + pick(blobs));
    if (rnd(2)) frames.push("t:" + pick(['2["after"]', '0{}', ...headers.slice(0, 5)]));
  } else {
    const k = 1 + rnd(6);
    for (let j = 0; j < k; j++) {
      const r = rnd(10);
      if (r < 4) frames.push("t:" + pick(headers));
      else if (r < 5) frames.push("t:" + pick([...texts].slice(0, 80)));
      else frames.push("b:" + pick(blobs));
    }
  }
  cases.push(frames);
}

function desc(p) {
  return { type: p.type, nsp: p.nsp, id: p.id === undefined ? null : String(p.id), hasData: p.data !== undefined };
}
const out = cases.map((frames) => {
  const d = new Decoder();
  let got = null;
  d.on("decoded", (p) => {
    got = p;
  });
  const steps = [];
  for (const f of frames) {
    got = null;
    try {
      if (f.startsWith("t:")) {
        d.add(f.slice(2));
        if (got) steps.push({ ok: true, done: true, p: desc(got) });
        else {
          const p = d.reconstructor.reconPack;
          steps.push({ ok: true, done: false, n: p.attachments, p: desc(p) });
        }
      } else {
        d.add(Buffer.from(f.slice(2), "hex"));
        steps.push(got ? { ok: true, done: true, p: desc(got) } : { ok: true, done: false });
      }
    } catch (e) {
      steps.push({ ok: false, err: String(e.message) });
      break;
    }
  }
  return { frames, steps };
});
process.stdout.write(JSON.stringify(out, null, 0).replace(/\},\{"frames"/g, '},\n{"frames"') + "\n");
