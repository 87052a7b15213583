"""The national registry side: the signed change feed, its reference client, and statistics.

certsvc's certificates must reach the national online query system (全国联网查询系统) and
their holders the national talent statistics. The registry pulls; certsvc never pushes.

Modules:

* :mod:`certsvc.registry.feed` — ``GET /api/v1/registry/changes``: every event in seq order
  with its signed record, streamed; replay from any cursor gives the same bytes;
* :mod:`certsvc.registry.statements` — revocations and supersessions signed by the body
  (``CertificateStatusStatement`` vc+jwt, stored in the event);
* ``certsvc registry pull``, the reference client, which verifies everything itself and keeps a
  mirror: :mod:`~certsvc.registry.pull` (the loop over pages), :mod:`~certsvc.registry.transport`
  (HTTP with retries), :mod:`~certsvc.registry.trust` (the cached JWKS and the accepted
  transparency checkpoint), :mod:`~certsvc.registry.apply` (verifying and applying each event)
  and :mod:`~certsvc.registry.mirror` (the mirror's tables);
* :mod:`certsvc.registry.stats` — ``certsvc stats`` and ``GET /api/v1/registry/stats``.
  (The chart on the console dashboard belongs to the console work and reads the same
  :func:`~certsvc.registry.stats.compute_stats`.)

**The ID number (decision).** The signed record never holds the ID number: its
``credentialSubject`` carries the masked form (``3201**********123X``) and a salted commitment
``base64url(SHA-256("certsvc-id-commitment/v1|type|number|" + salt))`` with a random 128-bit
salt per holder (:mod:`certsvc.holders.identity`). Records are therefore safe to print, to hand to
verifiers and to keep in logs of other systems, and an ID number (about 35 bits of entropy)
cannot be recovered from them by guessing. The registry does need the number itself — to
answer 联网查询 by ID number and to count people across issuers — so the feed, and only the
feed (registry role, bearer token, TLS), delivers each issued event's ``holder`` as
``{"id_type", "id_number", "id_salt"}``: decrypted on the fly with
:meth:`~certsvc.holders.identity.IdVault.reveal`, written to the response, never stored in clear,
never logged, sent with ``Cache-Control: no-store``. The client recomputes the commitment and
rejects the record when it differs, so a wrong number cannot be attached to a genuine record on the
way.

Considered and not chosen: putting the ciphertext in the record (would tie every verifier to
a registry key and make the signed record change whenever keys rotate), or a plain hash of the
number (guessable in seconds). A stronger next step, if the registry publishes a key: encrypt
the ``holder`` block to it (JWE ``ECDH-ES`` with X25519), so that TLS-terminating proxies on
the way never see clear numbers — this needs a registry public key per token (a column on
``api_tokens``) and is not done yet.

**Province in statistics (decision).** The province of the certification body (digits 6–7 of
the body code, repeated in every certificate number), not the holder's: the area code of a
居民身份证 is personal data, exists for one ID type only, and says where a person was first
registered, not where they work. See :mod:`certsvc.registry.stats` for the whole basis.
"""
