// Progressive enhancement for /v/<token>: check the Ed25519 signature on this device with
// WebCrypto against the service's JWKS, and that the signed fields equal those shown.
// The page is complete without this script; it only adds one line of evidence.
(function () {
  "use strict";
  var el = document.getElementById("device-check");
  if (!el) return;
  function show(kind, text) {
    el.className = "device " + kind;
    el.textContent = text;
    el.hidden = false;
  }
  function b64url(text) {
    if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  // The issuing body a certificate number names: its type letter and the 12 digits after the
  // optional 特级技师/首席技师 level letter (certsvc/domain/numbers.py, issuing_body_of).
  function issuingBody(number) {
    var m = /^([YS])[A-Z]?(\d{12})\d+$/.exec(number);
    return m && number.length === 22 ? m[1] + m[2] : null;
  }
  function b64urlEncode(bytes) {
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  var subtle = window.crypto && window.crypto.subtle;
  if (!subtle || !window.fetch || !window.TextEncoder) {
    show("neutral", el.dataset.unsupported);
    return;
  }
  var d = el.dataset, parts = d.token.split(".");
  var decoder = new TextDecoder("utf-8", { fatal: true });
  show("neutral", d.checking);
  (async function () {
    if (parts.length !== 3) return "bad";
    var header = JSON.parse(decoder.decode(b64url(parts[0])));
    if (header.alg !== "EdDSA" || typeof header.kid !== "string" || "crit" in header) return "bad";
    var response = await fetch(d.jwks, { credentials: "omit" });
    var jwks = await response.json();
    var jwk = (jwks.keys || []).filter(function (k) { return k.kid === header.kid; })[0];
    if (!jwk || jwk.kty !== "OKP" || jwk.crv !== "Ed25519") return "bad";
    // Whether a compromised key's signature predates its cutoff only the server can tell.
    if (jwk.status === "compromised") return "neutral";
    // The kid must be the RFC 7638 thumbprint of the key it names.
    var canonical = '{"crv":"Ed25519","kty":"OKP","x":"' + jwk.x + '"}';
    var thumb = new Uint8Array(await subtle.digest("SHA-256", new TextEncoder().encode(canonical)));
    if (b64urlEncode(thumb) !== jwk.kid) return "bad";
    var key = await subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x },
                                     { name: "Ed25519" }, false, ["verify"]);
    var signed = new TextEncoder().encode(parts[0] + "." + parts[1]);
    if (!(await subtle.verify({ name: "Ed25519" }, key, b64url(parts[2]), signed))) return "bad";
    // The signed fields (certsvc/issuance/credential.py): format 2 is
    // "2|number|holder name|occupation code without hyphens|YYYYMMDD"; format 1, still
    // read, is the JSON array [1, number, holder name, occupation code, YYYYMMDD].
    var text = decoder.decode(b64url(parts[1])), date = d.date.replace(/-/g, ""), same;
    if (text.charAt(0) === "[") {
      var p = JSON.parse(text);
      same = Array.isArray(p) && p.length === 5 && p[0] === 1 && p[1] === d.number &&
        p[2] === d.name && p[3] === d.occupation && String(p[4]) === date;
    } else {
      var f = text.split("|");
      same = f.length >= 5 && f[0] === "2" && f[1] === d.number &&
        f.slice(2, -2).join("|") === d.name &&
        f[f.length - 2] === d.occupation.replace(/-/g, "") && f[f.length - 1] === date;
    }
    if (!same) return "bad";
    // A key certifies for its own body only: body A's key over a number of body B is a
    // genuine signature, but not a certificate of B.
    if (typeof jwk.body === "string" && issuingBody(d.number) !== jwk.body) return "bad";
    return "ok";
  })().then(function (state) {
    // "ok" is the signature: under a revoked or superseded banner the page's own words
    // (data-ok, data-ok-kind) say it is genuine *but* the certificate is not current.
    if (state === "ok") show(d.okKind || "", d.ok);
    else if (state === "bad") show("bad", d.bad);
    else el.hidden = true;
  }, function () {
    // No Ed25519 in this browser's WebCrypto, no network, or an unreadable token: say
    // only that this device could not check; the server's verdict above stands.
    show("neutral", d.unsupported);
  });
})();
