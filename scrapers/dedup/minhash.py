"""Story clusters, the pure part: shingles, MinHash sketches, LSH band keys, the decision.

What `scrapers.dedup.clusters` stores, looks up and writes to PostgreSQL is computed here.
The method (figures and the reasons for each parameter are in docs/clusters.md):

1. **Shingles.** Title and body are NFKC-normalised and case-folded (Russian ``ё`` read as
   ``е``); everything that is not a letter or digit is dropped. English and Russian are
   cut into word 5-shingles; Japanese, written without spaces, into character 5-grams.
2. **MinHash.** Each shingle is hashed to 32 bits with a fixed, process-independent hash
   (blake2b of each word, or the code point of each character, combined by a polynomial
   and the MurmurHash3 finaliser), then sketched by ``datasketch.MinHash`` (scheme
   ``affine32``, seed 1, 128 permutations). The signature is stored as 128 little-endian
   uint32 values (512 bytes) in `article_minhash`.
3. **LSH bands.** The first 126 values of the signature are cut into 42 bands of 3;
   each band's bytes are hashed with blake2b to a signed 64-bit bucket, stored in
   `article_lsh_bands` under the primary key (band, bucket, seen_day, article_id), where
   `seen_day` is the article's UTC day. Articles sharing any (band, bucket) and first seen
   within `WINDOW_DAYS` (30) of each other are candidates; finding them is an index
   look-up of the window's rows, whatever the size of the archive.
4. **Verification.** Each candidate's Jaccard similarity is estimated from the stored
   signatures (the share of equal values). The article joins the cluster of its most
   similar candidate at or above `THRESHOLD` (0.4), else it opens a new cluster. If
   candidates from several clusters qualify, those clusters were one story split by the
   order copies arrived in, and are merged.

The pure part (`shingles`, `shingle_hashes`, `minhash`, `sketch`, `band_keys`, `decide`,
`rank_hits`, `decide_batch`) does no I/O.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    # Imported where a signature is computed: datasketch imports scipy, which is slow to
    # import and which a load of already-sketched records, or a run with nothing new, never
    # needs (docs/benchmarks.md, "The unchanged second run").
    from datasketch import MinHash

#: Words (en, ru) or characters (ja) per shingle.
SHINGLE_SIZE = 5
#: MinHash permutations; a signature is NUM_PERM uint32 values.
NUM_PERM = 128
#: LSH bands x rows per band (BANDS * ROWS <= NUM_PERM; the 2 values left over still
#: count in verification). A pair becomes a candidate with probability
#: 1 - (1 - J^ROWS)^BANDS: high at `THRESHOLD`, low for unrelated texts
#: (docs/clusters.md, "Parameters and why").
BANDS = 42
ROWS = 3
#: Estimated Jaccard similarity at or above which an article joins a candidate's cluster.
#: Set between the labelled set's hard negatives and its copies' best matches
#: (docs/clusters.md, "Parameters and why").
THRESHOLD = 0.4
#: MinHash permutation seed; changing it (or any parameter above) needs a re-banding.
SEED = 1
SCHEME = "affine32"
#: At most this many candidates (those sharing the most bands) are verified per article.
MAX_CANDIDATES = 50
#: Candidates are stored articles first seen at most this many days before or after the
#: article (by UTC day): copies of a story arrive within days, while the chance matches
#: of articles on one subject grow with the archive (docs/clusters.md, "Time window").
WINDOW_DAYS = 30
#: Languages written without spaces between words: character shingles.
CHAR_SHINGLE_LANGUAGES = frozenset({"ja", "zh", "ko"})

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
    """Everything that decides signatures, bands and matches."""

    num_perm: int = NUM_PERM
    bands: int = BANDS
    rows: int = ROWS
    threshold: float = THRESHOLD
    shingle_size: int = SHINGLE_SIZE
    seed: int = SEED
    max_candidates: int = MAX_CANDIDATES
    #: Not part of `tag`: it decides which stored bands are read, not what they hold.
    window_days: int = WINDOW_DAYS

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}"
            )
        if self.window_days < 0:
            raise ValueError(f"window_days must be >= 0, not {self.window_days}")

    @property
    def tag(self) -> str:
        """What stored signatures and bands were made with (a change means re-banding)."""
        return (f"{SCHEME}/seed={self.seed}/perm={self.num_perm}/k={self.shingle_size}"
                f"/b={self.bands}/r={self.rows}")


DEFAULT_PARAMS = ClusterParams()


@dataclass(frozen=True)
class ClusterAssignment:
    """Where `clusters.assign_cluster` put an article, and why.

    `is_new_cluster` is true only when this call created the cluster;
    `matched_article_id` is the most similar earlier article the article was matched to
    (None if it opened its cluster), `similarity` that pair's estimated Jaccard;
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


def _identity(value: int) -> int:
    return value


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations


def minhash_from_hashes(
    hashes: U32Array, num_perm: int = NUM_PERM, seed: int = SEED
) -> MinHash:
    """A datasketch MinHash (scheme affine32) of 32-bit shingle hashes."""
    from datasketch import MinHash

    sketch = MinHash(num_perm=num_perm, seed=seed, hashfunc=_identity,
                     permutations=_permutations(num_perm, seed), scheme=SCHEME)
    if len(hashes):
        sketch.update_batch(hashes.tolist())
    return sketch


def minhash(text: str, language: str | None, num_perm: int = NUM_PERM,
            seed: int = SEED, k: int = SHINGLE_SIZE) -> MinHash:
    """A datasketch MinHash of the shingles of `text` (see `shingle_hashes`)."""
    return minhash_from_hashes(shingle_hashes(text, language, k), num_perm, seed)


def article_text(title: str, body: str) -> str:
    """What is shingled for an article: its title, then its body."""
    return f"{title}\n{body}"


def sketch(title: str, body: str, language: str | None,
           params: ClusterParams = DEFAULT_PARAMS) -> tuple[U32Array, int]:
    """An article's MinHash values (`params.num_perm` uint32) and its number of shingles.

    What `clusters.assign_cluster` and `clusters.plan_clusters` compute; the loader may
    compute it earlier (in another process) and pass it in `NewArticle`. No shingles (an
    empty text): the values are datasketch's empty signature and the article gets no LSH
    bands.
    """
    hashes = shingle_hashes(article_text(title, body), language, params.shingle_size)
    values = minhash_from_hashes(hashes, params.num_perm, params.seed).hashvalues
    return np.asarray(values, dtype=np.uint32), len(hashes)


def signature_bytes(values: U32Array | MinHash) -> bytes:
    """A MinHash's values as little-endian uint32 bytes (what `article_minhash` stores)."""
    hv = getattr(values, "hashvalues", values)  # a datasketch MinHash, or its values
    return np.asarray(hv, dtype="<u4").tobytes()


def signature_from_bytes(data: bytes | memoryview) -> U32Array:
    return np.frombuffer(bytes(data), dtype="<u4")


def band_keys(values: U32Array | MinHash, bands: int = BANDS,
              rows: int = ROWS) -> list[tuple[int, int]]:
    """(band, bucket) pairs of a signature: bucket = signed 64-bit blake2b of the band's bytes.

    Deterministic across processes and machines (fixed byte order, no salted hash).
    """
    raw = signature_bytes(values)
    width = 4 * rows
    if bands * width > len(raw):
        raise ValueError(f"{bands} bands x {rows} rows need {bands * rows} values")
    return [
        (band, int.from_bytes(
            hashlib.blake2b(raw[band * width:(band + 1) * width], digest_size=8).digest(),
            "little", signed=True))
        for band in range(bands)
    ]


def article_band_keys(values: U32Array, shingle_count: int,
                      params: ClusterParams = DEFAULT_PARAMS) -> list[tuple[int, int]]:
    """The (band, bucket) keys an article is stored under: none if it has no shingles."""
    return band_keys(values, params.bands, params.rows) if shingle_count else []


def seen_day(first_seen_at: datetime) -> int:
    """The UTC day number (days since 1970-01-01) stored with an article's bands; the SQL
    of V016 computes the same, ``floor(extract(epoch FROM t) / 86400)``."""
    if first_seen_at.tzinfo is None:
        raise ValueError("first_seen_at must be timezone-aware")
    return int(first_seen_at.timestamp() // 86400)


def estimated_jaccard(a: U32Array, b: U32Array) -> float:
    """Share of equal signature values: MinHash's estimate of the Jaccard similarity."""
    if len(a) != len(b):
        raise ValueError(f"signatures of different lengths ({len(a)} and {len(b)})")
    return float(np.count_nonzero(a == b)) / len(a)


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
    to the lower article id (the order and cut of `clusters._CANDIDATES_SQL`)."""
    return heapq.nsmallest(limit, hits, key=lambda h: (-h[1], h[0]))


@dataclass(frozen=True)
class NewArticle:
    """An article about to be inserted (its id pre-allocated), for `clusters.plan_clusters`.

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


@dataclass(frozen=True)
class StoredHit:
    """A stored article sharing `shared` LSH bands with a batch article.

    `cluster_id` None (no cluster) or `signature` None (none with these params): it still
    takes its place in the ranking, as in `clusters._CANDIDATES_SQL`, but is not verified.
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
                 first_new_id: int, params: ClusterParams = DEFAULT_PARAMS) -> BatchDecision:
    """`clusters.assign_cluster`'s decisions for new articles assigned one by one in input
    order.

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
            candidates.append(
                Candidate(article_id, redirects.find(cid), estimated_jaccard(item.values, other)))
        decision = decide(candidates, None, params.threshold)
        if decision.cluster_id is None:
            target = first_new_id + len(created)
            created.append(target)
        else:
            target = decision.cluster_id
            redirects.fold(target, decision.merge)
        cluster.append(target)
        for key in item.keys:
            index.setdefault(key, []).append(i)
        best = decision.best
        assignments.append(ClusterAssignment(
            target, decision.cluster_id is None, best.article_id if best else None,
            best.similarity if best else None, decision.merge))
    return BatchDecision(assignments, [redirects.find(c) for c in cluster], created,
                         {c: redirects.find(c) for c in list(redirects.parent)})
