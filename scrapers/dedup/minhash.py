"""Story clusters, the pure part: shingles, shingle sets, anchor keys, the decision.

What `scrapers.dedup.clusters` stores, looks up and writes to PostgreSQL is computed here.
The method (figures and the reasons for each parameter are in docs/clusters.md):

1. **Shingles.** Title and body are NFKC-normalised and case-folded (Russian ``ё`` read as
   ``е``); everything that is not a letter or digit is dropped. English and Russian are
   cut into word 5-shingles; Japanese, written without spaces, into character 5-grams.
2. **Shingle set.** Each shingle is hashed to 32 bits with a fixed, process-independent
   hash (blake2b of each word, or the code point of each character, combined by a
   polynomial and the MurmurHash3 finaliser). The sorted unique hashes are the article's
   "signature", stored as little-endian uint32 in `article_minhash`.
3. **Anchors.** The hashes divisible by `ANCHOR_MOD` are the article's keys, stored in
   `article_lsh_bands` (band 0, bucket = the hash) under its UTC day. Any shared passage of
   a few dozen words shares an anchor whatever the two texts' lengths, which banded MinHash
   (built for whole-text resemblance) cannot promise for a short take of a long story.
   Articles sharing an anchor and first seen within `WINDOW_DAYS` are candidates.
4. **Verification: containment.** A candidate qualifies when the shingles the two texts
   share are at least `MIN_SHARED` and at least `THRESHOLD` of the smaller text's: a first
   take inside its full story, a truncated copy, an update with paragraphs added. The
   article joins the cluster of its best qualifying candidate; qualifying candidates in
   several clusters merge them (one story whose copies arrived in an order that split it).

The pure part (`shingles`, `shingle_hashes`, `sketch`, `anchor_keys`, `containment`,
`decide`, `rank_hits`, `decide_batch`) does no I/O.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
import numpy.typing as npt

#: Words (en, ru) or characters (ja) per shingle.
SHINGLE_SIZE = 5
#: A shingle hash divisible by this is an anchor key: about one shingle in ANCHOR_MOD.
#: A shared passage of n shingles shares no anchor with probability (1 - 1/ANCHOR_MOD)^n
#: (docs/clusters.md, "Parameters and why").
ANCHOR_MOD = 8
#: Containment (shared shingles / shingles of the smaller text) at or above which an
#: article joins a candidate's cluster: half of the smaller text. Lower values join more
#: real rewrites but also stories that share one stock background paragraph
#: (docs/clusters.md, "Containment (issue 19)").
THRESHOLD = 0.5
#: At least this many shared shingles, whatever the containment: a headline-only item
#: whose few shingles all occur in a long story is not thereby a copy of it.
MIN_SHARED = 8
#: At most this many candidates (those sharing the most anchors) are verified per article.
MAX_CANDIDATES = 50
#: Candidates are stored articles first seen at most this many days before or after the
#: article (by UTC day): takes and copies of a wire item arrive within days, while the
#: same-template stories of a wire (a monthly bomber flight) recur over weeks
#: (docs/clusters.md, "Time window").
WINDOW_DAYS = 7
#: Languages written without spaces between words: character shingles.
CHAR_SHINGLE_LANGUAGES = frozenset({"ja", "zh", "ko"})
#: Names the method in `article_minhash.params`; a change means re-sketching.
METHOD = "shingle32"

# Anything that is not a letter or a digit separates words (punctuation, symbols, spaces).
_NON_WORD_RE = re.compile(r"[\W_]+")
_MASK64 = (1 << 64) - 1
_POLY = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier (golden ratio)
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_S32 = np.uint64(32)

U32Array = npt.NDArray[np.uint32]


@dataclass(frozen=True)
class ClusterParams:
    """Everything that decides shingle sets, anchors and matches."""

    threshold: float = THRESHOLD
    shingle_size: int = SHINGLE_SIZE
    anchor_mod: int = ANCHOR_MOD
    min_shared: int = MIN_SHARED
    max_candidates: int = MAX_CANDIDATES
    #: Not part of `tag`: it decides which stored anchors are read, not what they hold.
    window_days: int = WINDOW_DAYS

    def __post_init__(self) -> None:
        if self.anchor_mod < 1:
            raise ValueError(f"anchor_mod must be >= 1, not {self.anchor_mod}")
        if self.window_days < 0:
            raise ValueError(f"window_days must be >= 0, not {self.window_days}")

    @property
    def tag(self) -> str:
        """What stored shingle sets and anchors were made with (a change means re-sketching)."""
        return f"{METHOD}/k={self.shingle_size}/mod={self.anchor_mod}"


DEFAULT_PARAMS = ClusterParams()


@dataclass(frozen=True)
class ClusterAssignment:
    """Where `clusters.assign_cluster` put an article, and why.

    `is_new_cluster` is true only when this call created the cluster;
    `matched_article_id` is the most similar earlier article the article was matched to
    (None if it opened its cluster), `similarity` that pair's containment;
    `merged_cluster_ids` the clusters this call folded into `cluster_id` (they no longer
    exist).
    """

    cluster_id: int
    is_new_cluster: bool
    matched_article_id: int | None
    similarity: float | None
    merged_cluster_ids: tuple[int, ...] = ()  # clusters this article showed to be its own


@dataclass(frozen=True)
class Candidate:
    """A stored article sharing at least one LSH band with the one being assigned."""

    article_id: int
    cluster_id: int
    similarity: float


def _normalize(text: str, language: str | None) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    if language == "ru":
        text = text.replace("ё", "е")  # outlets differ in writing ё; readers do not
    return unicodedata.normalize("NFKC", text)


def _uses_chars(language: str | None) -> bool:
    return (language or "").split("-")[0].lower() in CHAR_SHINGLE_LANGUAGES


def _tokens(text: str, language: str | None) -> list[str]:
    """Words (en, ru, ...) or characters (ja) of the normalised text, punctuation gone."""
    normal = _normalize(text, language)
    if _uses_chars(language):
        return list(_NON_WORD_RE.sub("", normal))
    return [t for t in _NON_WORD_RE.split(normal) if t]


def shingles(text: str, language: str | None, k: int = SHINGLE_SIZE) -> set[str]:
    """The set of k-shingles of `text`: word k-grams, or character k-grams for ja.

    A text shorter than k units gives one shingle of all of it; an empty text none.
    Word shingles are joined by one space.
    """
    tokens = _tokens(text, language)
    if not tokens:
        return set()
    sep = "" if _uses_chars(language) else " "
    if len(tokens) <= k:
        return {sep.join(tokens)}
    return {sep.join(tokens[i:i + k]) for i in range(len(tokens) - k + 1)}


@lru_cache(maxsize=1 << 18)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def _fmix64(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    h = h ^ (h >> _S33)
    h = h * _FMIX1
    h = h ^ (h >> _S33)
    h = h * _FMIX2
    return h ^ (h >> _S33)


def shingle_hashes(text: str, language: str | None, k: int = SHINGLE_SIZE) -> U32Array:
    """Sorted unique 32-bit hashes of `shingles(text, language, k)`, the same in every process.

    Each unit (a word's blake2b, or a character's code point) enters a polynomial over
    the k units of the shingle; the MurmurHash3 finaliser spreads it and its top 32 bits
    are kept. Python's salted `hash()` is not used.
    """
    tokens = _tokens(text, language)
    if not tokens:
        return np.empty(0, dtype=np.uint32)
    if _uses_chars(language):
        units = np.array([ord(c) for c in tokens], dtype=np.uint64)
    else:
        units = np.array([_word_hash(t) for t in tokens], dtype=np.uint64)
    width = min(k, len(units))
    n = len(units) - width + 1
    h = np.zeros(n, dtype=np.uint64)
    for j in range(width):  # uint64 array arithmetic wraps: that is the mod 2^64
        h = h * _POLY + units[j:j + n]
    return np.unique((_fmix64(h) >> _S32).astype(np.uint32))


def article_text(title: str, body: str) -> str:
    """What is shingled for an article: its title, then its body."""
    return f"{title}\n{body}"


def sketch(title: str, body: str, language: str | None,
           params: ClusterParams = DEFAULT_PARAMS) -> tuple[U32Array, int]:
    """An article's shingle set (sorted unique uint32 hashes) and its size.

    What `clusters.assign_cluster` and `clusters.plan_clusters` compute; the loader may
    compute it earlier (in another process) and pass it in `NewArticle`.
    """
    hashes = shingle_hashes(article_text(title, body), language, params.shingle_size)
    return hashes, len(hashes)


def signature_bytes(values: U32Array) -> bytes:
    """A shingle set as little-endian uint32 bytes (what `article_minhash` stores)."""
    return np.asarray(values, dtype="<u4").tobytes()


def signature_from_bytes(data: bytes | memoryview) -> U32Array:
    return np.frombuffer(bytes(data), dtype="<u4").astype(np.uint32)


def anchor_keys(values: U32Array, anchor_mod: int = ANCHOR_MOD) -> list[tuple[int, int]]:
    """The (band, bucket) keys of a shingle set: (0, hash) for each anchor hash.

    Chosen by content, not position, so two texts sharing a passage choose the same
    anchors in it. Deterministic across processes and machines.
    """
    return [(0, int(h)) for h in values[values % anchor_mod == 0]]


def article_band_keys(values: U32Array, shingle_count: int,
                      params: ClusterParams = DEFAULT_PARAMS) -> list[tuple[int, int]]:
    """The keys an article is stored under: none if it has no shingles."""
    return anchor_keys(values, params.anchor_mod) if shingle_count else []


def seen_day(first_seen_at: datetime) -> int:
    """The UTC day number (days since 1970-01-01) stored with an article's bands; the SQL
    of V016 computes the same, ``floor(extract(epoch FROM t) / 86400)``."""
    if first_seen_at.tzinfo is None:
        raise ValueError("first_seen_at must be timezone-aware")
    return int(first_seen_at.timestamp() // 86400)


def containment(a: U32Array, b: U32Array, min_shared: int = MIN_SHARED) -> float:
    """Shared shingles over the smaller set's size; 0.0 below `min_shared` shared.

    Symmetric, so the decision does not depend on which copy arrived first. Both sets
    are sorted and unique (`sketch`). Rounded to 3 decimals, which the `real` column
    `article_minhash.similarity` stores and gives back exactly: an unchanged article's
    stored assignment equals the one computed.
    """
    if not len(a) or not len(b):
        return 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    if shared < min_shared:
        return 0.0
    return round(shared / min(len(a), len(b)), 3)


@dataclass(frozen=True)
class Decision:
    """What the candidates say: the cluster to join, the best match, clusters to fold in."""

    cluster_id: int | None  # None: no candidate qualifies
    best: Candidate | None
    merge: tuple[int, ...] = ()


def decide(candidates: Sequence[Candidate], current_cluster_id: int | None,
           threshold: float = THRESHOLD) -> Decision:
    """Which cluster an article joins, given its verified candidates.

    Candidates at or above `threshold` qualify. The article joins its current cluster if
    a member of it qualifies (so re-assigning never moves an article needlessly), else the
    oldest (lowest id) qualifying cluster. Any other qualifying clusters are the same story
    seen in an order that split it (two trimmed copies of one wire story may match each
    other poorly, and each its original well): they are to be merged into that cluster.
    `best` is the most similar qualifying candidate (ties: the lower article id).
    """
    qualified = [c for c in candidates if c.similarity >= threshold]
    if not qualified:
        return Decision(None, None)
    clusters = {c.cluster_id for c in qualified}
    target = current_cluster_id if current_cluster_id in clusters else min(clusters)
    best = min(qualified, key=lambda c: (-c.similarity, c.article_id))
    return Decision(target, best, tuple(sorted(clusters - {target})))


def rank_hits(hits: Iterable[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """The `limit` (article_id, shared bands) hits verified: most shared bands first, ties
    to the lower article id (the order and cut of `clusters._BATCH_HITS_SQL`)."""
    return heapq.nsmallest(limit, hits, key=lambda h: (-h[1], h[0]))


@dataclass(frozen=True)
class NewArticle:
    """An article to cluster, for `clusters.plan_clusters`: a new one about to be inserted
    (its id pre-allocated), or a stored one being decided again (its text changed, or it
    was sketched with other params) with `stored` true and its `current_cluster_id`.

    `signature`/`shingle_count`: the article's `sketch`, if computed earlier with the same
    params; either one None and both are computed here.
    """

    article_id: int
    title: str
    body: str
    language: str | None
    outlet: str
    first_seen_at: datetime  # aware
    signature: U32Array | None = None
    shingle_count: int | None = None
    stored: bool = False
    current_cluster_id: int | None = None


@dataclass(frozen=True)
class StoredHit:
    """A stored article sharing `shared` LSH bands with a batch article.

    `cluster_id` None (no cluster) or `signature` None (none with these params): it still
    takes its place in the ranking, as in `clusters._BATCH_HITS_SQL`, but is not verified.
    """

    article_id: int
    shared: int
    cluster_id: int | None
    signature: U32Array | None


@dataclass(frozen=True)
class Sketched:
    """A batch article with its signature and band keys."""

    article: NewArticle
    values: U32Array
    shingle_count: int
    keys: list[tuple[int, int]]

    @property
    def day(self) -> int:
        """The day its bands are stored under (`seen_day`)."""
        return seen_day(self.article.first_seen_at)


@dataclass
class BatchDecision:
    """What `decide_batch` decided; new cluster ids are `first_new_id`, `first_new_id + 1`, ...

    `created`: every cluster the batch opened, in order (some may be folded later in the
    batch); `folded`: cluster -> the cluster it ended in, for every folded cluster.
    """

    assignments: list[ClusterAssignment]
    final: list[int]  # per article: its cluster after all the batch's merges
    created: list[int]
    folded: dict[int, int]


class _Redirects:
    """Merged clusters: each folded cluster points to the one it was folded into."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, cluster_id: int) -> int:
        root = cluster_id
        while root in self.parent:
            root = self.parent[root]
        while cluster_id != root:  # path compression
            self.parent[cluster_id], cluster_id = root, self.parent[cluster_id]
        return root

    def fold(self, target: int, others: Iterable[int]) -> None:
        for other in others:
            self.parent[other] = target


def decide_batch(items: Sequence[Sketched], stored: Sequence[Sequence[StoredHit]],
                 first_new_id: int, params: ClusterParams = DEFAULT_PARAMS,
                 sizes: Mapping[int, int] | None = None) -> BatchDecision:
    """The clusters of articles decided one by one in input order.

    A stored article (`NewArticle.stored`) stays in its current cluster while a member of
    it still qualifies; with no match at all it keeps its cluster if it is alone there
    (`sizes`: member counts of the current clusters before the batch, kept up to date as
    the batch moves articles), else it opens a new one.

    Article i's candidates are the stored articles of `stored[i]` (its top hits by the
    same ranking, before any of the batch was stored) and the batch's articles before it
    (an in-memory LSH index), ranked together by `rank_hits`; both only within
    `params.window_days` of the article's day, as the stored look-up is. Clusters merged
    earlier in the batch, stored ones included, are followed to the cluster they were
    folded into. `first_new_id` must be above every stored cluster id (new ids compare as
    they will).
    """
    if len(stored) != len(items):
        raise ValueError(f"{len(items)} articles but {len(stored)} lists of stored hits")
    redirects = _Redirects()
    size = dict(sizes or {})
    index: dict[tuple[int, int], list[int]] = {}
    position = {item.article.article_id: i for i, item in enumerate(items)}
    cluster: list[int] = []
    assignments: list[ClusterAssignment] = []
    created: list[int] = []
    days = [item.day for item in items]
    for i, item in enumerate(items):
        shared = Counter(j for key in item.keys for j in index.get(key, ())
                         if abs(days[j] - days[i]) <= params.window_days)
        by_id = {h.article_id: h for h in stored[i]}
        hits = [(h.article_id, h.shared) for h in stored[i]]
        hits += [(items[j].article.article_id, n) for j, n in shared.items()]
        candidates: list[Candidate] = []
        for article_id, _ in rank_hits(hits, params.max_candidates):
            j = position.get(article_id)
            if j is not None and j < i:
                cid, other = cluster[j], items[j].values
            else:
                hit = by_id[article_id]
                if hit.cluster_id is None or hit.signature is None:
                    continue
                cid, other = hit.cluster_id, hit.signature
            candidates.append(Candidate(article_id, redirects.find(cid),
                                        containment(item.values, other, params.min_shared)))
        current = item.article.current_cluster_id
        if current is not None:
            current = redirects.find(current)
        decision = decide(candidates, current, params.threshold)
        is_new = False
        if decision.cluster_id is not None:
            target = decision.cluster_id
            redirects.fold(target, decision.merge)
            for folded in decision.merge:
                size[target] = size.get(target, 0) + size.pop(folded, 0)
        elif current is not None and size.get(current) == 1:
            target = current  # alone before and still alone: it keeps its cluster id
        else:
            target, is_new = first_new_id + len(created), True
            created.append(target)
        if target != current:
            if current is not None:
                size[current] = size.get(current, 0) - 1
            size[target] = size.get(target, 0) + 1
        cluster.append(target)
        for key in item.keys:
            index.setdefault(key, []).append(i)
        best = decision.best
        assignments.append(ClusterAssignment(
            target, is_new, best.article_id if best else None,
            best.similarity if best else None, decision.merge))
    return BatchDecision(assignments, [redirects.find(c) for c in cluster], created,
                         {c: redirects.find(c) for c in list(redirects.parent)})
