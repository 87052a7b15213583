"""RFC 6962 Merkle tree hashing, proofs and their verification — pure functions, no storage.

Hashing (RFC 6962 §2.1, RFC 9162 §2.1.1), SHA-256 throughout:

* a leaf is ``SHA-256(0x00 || leaf data)``;
* an interior node is ``SHA-256(0x01 || left || right)``;
* the tree hash of ``n`` leaves (``MTH``) splits at ``k``, the largest power of two smaller
  than ``n``: ``MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n]))``; the empty tree's hash is
  ``SHA-256("")``.

Storage is addressed by **node ids** ``(level, index)``: the node at level ``l`` and index
``i`` is the root of the complete subtree over leaves ``[i·2^l, (i+1)·2^l)``; level 0 holds
the leaf hashes. Such a node never changes once its last leaf is appended, so it can be stored
for good. Every hash a proof needs is either one stored node or the hash of a range at the right
edge of a smaller tree, which is a fold of at most ``log2(n)`` stored nodes; so proofs are
*planned* here as lists of node ids (:func:`inclusion_plan`, :func:`consistency_plan`), read
from storage in one round trip, and folded (:func:`resolve`). :func:`extend` computes the nodes
that a batch of new leaves completes, starting from the tree's right edge (its compact range).

The verifiers follow RFC 9162 §2.1.3.2 and §2.1.4.2 and return ``False`` for every proof they
cannot accept (they never raise on untrusted input); they are tested against the published
transparency-dev/merkle vectors in ``tests/assets/transparency``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "NodeId",
    "Plan",
    "compact_range",
    "consistency_plan",
    "extend",
    "inclusion_plan",
    "leaf_hash",
    "node_hash",
    "plan_nodes",
    "reference_consistency_proof",
    "reference_inclusion_proof",
    "reference_root",
    "resolve",
    "root_plan",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
#: MTH of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: ``(level, index)``: the complete subtree over leaves ``[index·2^level, (index+1)·2^level)``.
NodeId = tuple[int, int]
#: One hash per element, each the right-to-left fold of the listed complete subtrees.
Plan = list[list[NodeId]]


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one leaf."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- planning ----------------------------------------------------------------------------------


def compact_range(begin: int, end: int) -> list[NodeId]:
    """The complete subtrees that exactly cover leaves ``[begin, end)``, left to right.

    For the ranges that occur in RFC 6962 trees (``begin`` a multiple of the largest piece),
    the pieces shrink from left to right and the range's ``MTH`` is their right-to-left fold.
    """
    if not 0 <= begin <= end:
        raise ValueError(f"not a range of leaves: [{begin}, {end})")
    nodes: list[NodeId] = []
    while begin < end:
        # The largest aligned subtree starting at ``begin`` that fits before ``end``.
        level = (begin & -begin).bit_length() - 1 if begin else (end - begin).bit_length()
        while (1 << level) > end - begin:
            level -= 1
        nodes.append((level, begin >> level))
        begin += 1 << level
    return nodes


def root_plan(size: int) -> Plan:
    """The nodes whose fold is the root of the tree of ``size`` leaves (none for the empty tree)."""
    return [compact_range(0, size)] if size else []


def inclusion_plan(index: int, size: int) -> Plan:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 6962 §2.1.1 PATH).

    Raises ValueError unless ``0 <= index < size``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    begin, end = 0, size
    # Walk down from the root; each step records the sibling range, innermost last.
    while end - begin > 1:
        k = _split(end - begin)
        if index < begin + k:
            ranges.append((begin + k, end))
            end = begin + k
        else:
            ranges.append((begin, begin + k))
            begin += k
    return [compact_range(b, e) for b, e in reversed(ranges)]


def consistency_plan(old_size: int, new_size: int) -> Plan:
    """The consistency proof between tree sizes (RFC 6962 §2.1.2 PROOF/SUBPROOF).

    Empty when the sizes are equal. Raises ValueError unless ``1 <= old_size <= new_size``:
    consistency with the empty tree proves nothing (every tree extends it).
    """
    if not 1 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size == new_size:
        return []
    ranges: list[tuple[int, int]] = []
    begin, end, m = 0, new_size, old_size  # SUBPROOF(m, D[begin:end], have_root)
    have_root = True
    while m != end - begin:
        n = end - begin
        k = _split(n)
        if m <= k:
            ranges.append((begin + k, end))
            end = begin + k
        else:
            ranges.append((begin, begin + k))
            begin, m, have_root = begin + k, m - k, False
    if not have_root:
        ranges.append((begin, end))
    return [compact_range(b, e) for b, e in reversed(ranges)]


def plan_nodes(plan: Plan) -> set[NodeId]:
    """Every node id a plan reads."""
    return {node for element in plan for node in element}


def resolve(plan: Plan, hashes: Mapping[NodeId, bytes]) -> list[bytes]:
    """Fold each element of ``plan`` from the node hashes read for it.

    Raises KeyError (with the node id) when a needed node is missing from ``hashes``.
    """
    proof: list[bytes] = []
    for element in plan:
        value = hashes[element[-1]]
        for node in reversed(element[:-1]):
            value = node_hash(hashes[node], value)
        proof.append(value)
    return proof


def extend(
    frontier: Sequence[tuple[NodeId, bytes]], size: int, leaves: Iterable[bytes]
) -> tuple[list[tuple[NodeId, bytes]], list[tuple[NodeId, bytes]]]:
    """Append leaf hashes to a tree of ``size`` leaves whose right edge is ``frontier``.

    ``frontier`` is the tree's compact range (``compact_range(0, size)`` with hashes, left to
    right). Returns ``(new_nodes, new_frontier)``: every complete subtree the new leaves
    finish (level 0 included), in the order they complete, and the right edge of the grown
    tree. Work is O(1) amortised per leaf; nothing is read but the frontier.
    """
    expected = compact_range(0, size)
    if [node for node, _ in frontier] != expected:
        raise ValueError(f"frontier {[n for n, _ in frontier]} is not the edge of size {size}")
    stack = list(frontier)
    created: list[tuple[NodeId, bytes]] = []
    index = size
    for value in leaves:
        if len(value) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, not {len(value)}")
        node: tuple[NodeId, bytes] = ((0, index), value)
        created.append(node)
        # Two neighbours of one level merge into their parent, as in binary addition.
        while stack and stack[-1][0][0] == node[0][0]:
            (level, left_index), left = stack.pop()
            node = ((level + 1, left_index >> 1), node_hash(left, node[1]))
            created.append(node)
        stack.append(node)
        index += 1
    return created, stack


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ---------------------------------------------


def _valid_hashes(*values: object) -> bool:
    return all(isinstance(v, bytes) and len(v) == HASH_SIZE for v in values)


def _proof_list(proof: object) -> list[bytes] | None:
    if proof is None:
        return []
    if not isinstance(proof, list | tuple) or not _valid_hashes(*proof):
        return None
    return list(proof)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows leaf ``index`` with hash ``leaf_hash`` in the tree ``root``."""
    path = _proof_list(proof)
    if path is None or not _valid_hashes(leaf_hash, root):
        return False
    if not (isinstance(index, int) and isinstance(size, int)) or not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree ``new_root`` extends the tree ``old_root``.

    Equal sizes need an empty proof and equal roots. A proof from the empty tree is refused
    as meaningless (as transparency-dev/merkle does): there is nothing to be consistent with.
    Roots must be SHA-256 sized, even when the sizes are equal (stricter than that library).
    """
    path = _proof_list(proof)
    if path is None or not _valid_hashes(old_root, new_root):
        return False
    if not (isinstance(old_size, int) and isinstance(new_size, int)):
        return False
    if not 1 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if not path:
        return False
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        path = [old_root, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# --- the RFC's recursive definitions, for cross-checking ---------------------------------------


def reference_root(leaves: Sequence[bytes], hasher: Callable[[bytes], bytes] = leaf_hash) -> bytes:
    """``MTH(D[n])`` computed literally from RFC 6962 §2.1 (O(n); for tests and audits)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return hasher(leaves[0])
    k = _split(len(leaves))
    return node_hash(reference_root(leaves[:k], hasher), reference_root(leaves[k:], hasher))


def reference_inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """``PATH(m, D[n])`` computed literally from RFC 6962 §2.1.1 (for tests)."""
    n = len(leaves)
    if n <= 1:
        return []
    k = _split(n)
    if index < k:
        return [*reference_inclusion_proof(leaves[:k], index), reference_root(leaves[k:])]
    return [*reference_inclusion_proof(leaves[k:], index - k), reference_root(leaves[:k])]


def reference_consistency_proof(
    leaves: Sequence[bytes], old_size: int, have_root: bool = True
) -> list[bytes]:
    """``SUBPROOF(m, D[n], b)`` computed literally from RFC 6962 §2.1.2 (for tests)."""
    n = len(leaves)
    if old_size == 0 or old_size > n:
        return []
    if old_size == n:
        return [] if have_root else [reference_root(leaves)]
    k = _split(n)
    if old_size <= k:
        return [
            *reference_consistency_proof(leaves[:k], old_size, have_root),
            reference_root(leaves[k:]),
        ]
    return [
        *reference_consistency_proof(leaves[k:], old_size - k, False),
        reference_root(leaves[:k]),
    ]
