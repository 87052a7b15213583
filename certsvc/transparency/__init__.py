"""The issuance transparency log: every event of certsvc in one append-only, provable history.

Like Certificate Transparency (RFC 6962/9162) for web certificates, the log lets the national
registry, an employer or the body itself prove that nothing was issued silently, back-dated or
deleted. Nothing is imported here (so :mod:`certsvc.models` can import the tables without a
cycle); use the modules:

======================================  =========================================================
:mod:`certsvc.transparency.merkle`      RFC 6962 hashing, proof plans, ``verify_inclusion``,
                                        ``verify_consistency`` (pure)
:mod:`certsvc.transparency.leaf`        the leaf data of each event (format version 1)
:mod:`certsvc.transparency.note`        checkpoints as C2SP signed notes
:mod:`certsvc.transparency.store`       the tree in the database: ``append_leaves``,
                                        ``root_hash``, ``inclusion_proof``, ``consistency_proof``
:mod:`certsvc.transparency.log`         the service: one import for the four below
:mod:`certsvc.transparency.keys`        the log's own key and origin
:mod:`certsvc.transparency.checkpoints` ``append_and_checkpoint``, the published document
:mod:`certsvc.transparency.proofs`      ``certificate_inclusion``, ``log_position_at``
:mod:`certsvc.transparency.audit`       ``audit``: rebuild the tree, check every checkpoint
:mod:`certsvc.transparency.offline`     ``verify_bundle``: the offline check of ``certsvc verify``
:mod:`certsvc.models.transparency`      tables ``merkle_nodes``, ``log_checkpoints``,
                                        ``log_keys``, ``log_state``
:mod:`certsvc.cli.transparency`    ``certsvc log …``
======================================  =========================================================

**The tree.** Event ``seq`` N (numbered gap-free in commit order, :mod:`certsvc.models.events`) is
leaf N − 1, so a tree of size N covers exactly events 1..N. Leaves and nodes are hashed as in
RFC 6962: ``SHA-256(0x00 || leaf data)`` and ``SHA-256(0x01 || left || right)``. The leaf data
is canonical JSON (RFC 8785) of the event's public facts — see :mod:`certsvc.transparency.leaf`.
Every complete subtree's hash is stored (``merkle_nodes``, keyed ``(level, idx)``), so an append
reads the tree's right edge only and any root or proof reads at most ``2·log2(n)`` rows.

**Checkpoints.** After each batch, and as soon as any other event commits (:mod:`certsvc.events`),
the service signs a checkpoint (C2SP tlog-checkpoint)::

    cert.example.cn/log
    1204
    3Z1VK9M1BmmxhJU4k0sNx0Tl3kWQLo7vrn8TRmm+A4E=

    — cert.example.cn/log Az3DzV7fT4n1…

with a log key of its own (Ed25519, kid = RFC 7638 thumbprint, stored encrypted in
``keys/<kid>.pem``). ``GET /.well-known/transparency.json`` publishes the origin, the verifier
keys (``origin+keyid+base64``, readable by Go's ``sumdb/note`` and the transparency-dev
witnesses) and the latest checkpoint; ``GET /transparency/checkpoint`` serves the note itself.

**Proving a certificate.** :func:`certsvc.transparency.log.certificate_inclusion` gives the
latest checkpoint, the certificate's leaf data and its audit path. Offline, ``certsvc verify``
checks it with the log's verifier key and the token only
(:func:`certsvc.transparency.offline.verify_bundle`): checkpoint signature → leaf is the
``issued`` leaf of this number whose ``token_sha256`` is this token's hash → the audit path
leads to the signed root.

**Key compromise.** A compromise cutoff (a time) maps to a log position with
:func:`certsvc.transparency.log.log_position_at`: the largest N such that events 1..N all
occurred at or before the cutoff. A certificate whose ``issued`` event has ``seq <= N`` was
logged before the cutoff and stays valid; later ones are not trusted. Unlike the certificate's
own ``created_at`` (which anyone who can write the database can change), a position that a
checkpoint signed before the compromise was reported covers cannot be moved: the log's
consistency proofs would break. The strongest rule is therefore: trusted iff the ``issued``
event is inside a checkpoint published before the compromise was reported, and at or before
the cutoff's position.
"""
