"""Story clusters: group wire copies and light rewrites of one story, incrementally.

Each article keeps its own row; near-duplicates share a `story_clusters` row through
`articles.cluster_id`. The method (figures and the reasons for each parameter are in
docs/clusters.md):

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

Clustering is incremental: an article's cluster is decided when it is assigned (and
again when its text changes); other clusters change only by such a merge, at a cost
proportional to their size.

The pure part (`shingles`, `shingle_hashes`, `minhash`, `sketch`, `band_keys`, `decide`,
`rank_hits`, `decide_batch`) does no I/O. `assign_cluster` (one stored article) and
`plan_clusters` + `write_plan` (a batch of new articles, set-based, with the same result as
`assign_cluster` called for each in order) run their SQL on a DB-API (psycopg2) connection
and leave transaction control to the caller.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from scrapers.timing import NO_TIMER, PhaseTimer

if TYPE_CHECKING:
    # Imported where a signature is computed: datasketch imports scipy (about 1 s), which
    # a load of already-sketched records, or a run with nothing new, never needs.
    from datasketch import MinHash

LOGGER = logging.getLogger(__name__)

#: Words (en, ru) or characters (ja) per shingle.
SHINGLE_SIZE = 5
#: MinHash permutations; a signature is NUM_PERM uint32 values.
NUM_PERM = 128
#: LSH bands x rows per band (BANDS * ROWS <= NUM_PERM; the 2 values left over still
#: count in verification). A pair becomes a candidate with probability 1 - (1 - J^3)^42:
#: 0.94 at J = 0.4, 0.996 at J = 0.5, 0.04 at J = 0.1.
BANDS = 42
ROWS = 3
#: Estimated Jaccard similarity at or above which an article joins a candidate's cluster.
#: Measured on the labelled set: hard negatives reach 0.29, copies' best matches >= 0.44.
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
    """Where `assign_cluster` put an article, and why.

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


# --------------------------------------------------------------------------- pure part


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

    What `assign_cluster` and `plan_clusters` compute; the loader may compute it earlier
    (in another process) and pass it in `NewArticle`. No shingles (an empty text): the
    values are datasketch's empty signature and the article gets no LSH bands.
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
    to the lower article id (the order and cut of `_CANDIDATES_SQL`)."""
    return heapq.nsmallest(limit, hits, key=lambda h: (-h[1], h[0]))


@dataclass(frozen=True)
class NewArticle:
    """An article about to be inserted (its id pre-allocated), for `plan_clusters`.

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
    takes its place in the ranking, as in `_CANDIDATES_SQL`, but is not verified.
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
    """`assign_cluster`'s decisions for new articles assigned one by one in input order.

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


# --------------------------------------------------------------------------- DB part

_CANDIDATES_SQL = """
WITH keys AS (
    SELECT * FROM unnest(%(bands)s::smallint[], %(buckets)s::bigint[]) AS k(band, bucket)
), hits AS (
    SELECT l.article_id, count(*) AS shared
    FROM keys k
    JOIN article_lsh_bands l ON l.band = k.band AND l.bucket = k.bucket
        AND l.seen_day BETWEEN %(day)s - %(window)s AND %(day)s + %(window)s
    WHERE l.article_id <> %(article_id)s
    GROUP BY l.article_id
    ORDER BY shared DESC, l.article_id
    LIMIT %(limit)s
)
SELECT h.article_id, a.cluster_id, m.signature
FROM hits h
JOIN article_minhash m ON m.article_id = h.article_id AND m.params = %(params)s
JOIN articles a ON a.id = h.article_id
WHERE a.cluster_id IS NOT NULL
"""


def assign_cluster(
    conn: Any,
    article_id: int,
    title: str,
    body: str,
    language: str | None,
    outlet: str,
    first_seen_at: datetime | None,
    params: ClusterParams = DEFAULT_PARAMS,
) -> ClusterAssignment:
    """Put a stored article into a story cluster; returns where it went.

    Call it after the article's row is written, in the same transaction (no commit here).
    Unchanged text with the same parameters changes nothing and returns the stored
    assignment. Changed text replaces the article's signature and bands and decides its
    cluster again (it stays while a member of its cluster still matches).

    :param article_id: `articles.id` of the row just inserted or updated.
    :param outlet: the article's outlet, used for logging the match.
    :param first_seen_at: when the article was first seen (aware); widens the cluster's
        first/last seen. None: take `articles.first_seen_at` of the row.
    :raises LookupError: if no article has that id.
    """
    values, shingle_count = sketch(title, body, language, params)
    signature = signature_bytes(values)
    with conn.cursor() as cur:
        cur.execute(
            """SELECT a.cluster_id, m.signature, m.params, m.matched_article_id, m.similarity,
                      a.first_seen_at
               FROM articles a LEFT JOIN article_minhash m ON m.article_id = a.id
               WHERE a.id = %s FOR UPDATE OF a""",
            (article_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise LookupError(f"no article with id {article_id}: upsert it before clustering")
        current, stored_sig, stored_params, stored_match, stored_sim, row_seen = row
        if first_seen_at is None:
            first_seen_at = row_seen
        day = seen_day(row_seen)  # the row's own day, as the batch path and V016 use
        if (current is not None and stored_sig is not None and bytes(stored_sig) == signature
                and stored_params == params.tag):
            return ClusterAssignment(int(current), False, stored_match, stored_sim)

        keys = article_band_keys(values, shingle_count, params)
        if stored_sig is not None:
            cur.execute("DELETE FROM article_lsh_bands WHERE article_id = %s", (article_id,))
        candidates: list[Candidate] = []
        if keys:
            cur.execute(_CANDIDATES_SQL, {
                "bands": [b for b, _ in keys], "buckets": [k for _, k in keys],
                "article_id": article_id, "limit": params.max_candidates,
                "params": params.tag, "day": day, "window": params.window_days,
            })
            candidates = [
                Candidate(int(aid), int(cid),
                          estimated_jaccard(values, signature_from_bytes(sig)))
                for aid, cid, sig in cur.fetchall()
            ]
        decision = decide(candidates, current, params.threshold)
        chosen = decision.best

        is_new = False
        if decision.cluster_id is not None:
            target = decision.cluster_id
            if decision.merge:
                _merge_clusters(cur, target, decision.merge)
        elif current is not None and _cluster_size(cur, current) == 1:
            target = current  # alone before and still alone: keep its cluster id
        else:
            cur.execute(
                """INSERT INTO story_clusters (first_seen_at, last_seen_at, article_count)
                   VALUES (%s, %s, 0) RETURNING id""",
                (first_seen_at, first_seen_at),
            )
            target = int(cur.fetchone()[0])
            is_new = True

        if keys:
            cur.execute(
                """INSERT INTO article_lsh_bands (band, seen_day, bucket, article_id)
                   SELECT unnest(%s::smallint[]), %s, unnest(%s::bigint[]), %s
                   ON CONFLICT DO NOTHING""",
                ([b for b, _ in keys], day, [k for _, k in keys], article_id),
            )
        matched = chosen.article_id if chosen else None
        similarity = chosen.similarity if chosen else None
        cur.execute(
            """INSERT INTO article_minhash (article_id, num_perm, signature, shingle_count,
                   params, matched_article_id, similarity, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, now())
               ON CONFLICT (article_id) DO UPDATE SET
                   num_perm = EXCLUDED.num_perm, signature = EXCLUDED.signature,
                   shingle_count = EXCLUDED.shingle_count, params = EXCLUDED.params,
                   matched_article_id = EXCLUDED.matched_article_id,
                   similarity = EXCLUDED.similarity, updated_at = EXCLUDED.updated_at""",
            (article_id, params.num_perm, signature, shingle_count, params.tag, matched,
             similarity),
        )
        if target != current:
            cur.execute("UPDATE articles SET cluster_id = %s WHERE id = %s",
                        (target, article_id))
            cur.execute(
                """UPDATE story_clusters SET article_count = article_count + 1,
                       first_seen_at = least(first_seen_at, %s),
                       last_seen_at = greatest(last_seen_at, %s)
                   WHERE id = %s""",
                (first_seen_at, first_seen_at, target),
            )
            if current is not None:
                _refresh_cluster(cur, current)
    got = ClusterAssignment(target, is_new, matched, similarity, decision.merge)
    _log_assignment(article_id, outlet, language, got)
    return got


def _log_assignment(article_id: int, outlet: str, language: str | None,
                    got: ClusterAssignment) -> None:
    if not LOGGER.isEnabledFor(logging.DEBUG):
        return
    LOGGER.debug("article %s (%s, %s) -> cluster %s%s%s", article_id, outlet, language,
                 got.cluster_id,
                 f" via {got.matched_article_id} (J~{got.similarity:.2f})"
                 if got.similarity is not None else " (new)" if got.is_new_cluster else "",
                 f", merged {list(got.merged_cluster_ids)}" if got.merged_cluster_ids else "")


def _merge_clusters(cur: Any, target: int, others: Sequence[int]) -> None:
    """Fold clusters into `target`: their articles move, their rows go (cost: their size)."""
    ids = [target, *others]
    cur.execute("SELECT id FROM story_clusters WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                (sorted(ids),))
    cur.execute(
        """UPDATE story_clusters t SET article_count = t.article_count + s.n,
               first_seen_at = least(t.first_seen_at, s.first_seen),
               last_seen_at = greatest(t.last_seen_at, s.last_seen)
           FROM (SELECT sum(article_count) AS n, min(first_seen_at) AS first_seen,
                        max(last_seen_at) AS last_seen
                 FROM story_clusters WHERE id = ANY(%(others)s)) s
           WHERE t.id = %(target)s""",
        {"target": target, "others": list(others)},
    )
    cur.execute("UPDATE articles SET cluster_id = %s WHERE cluster_id = ANY(%s)",
                (target, list(others)))
    cur.execute("DELETE FROM story_clusters WHERE id = ANY(%s)", (list(others),))


def _cluster_size(cur: Any, cluster_id: int) -> int:
    cur.execute("SELECT article_count FROM story_clusters WHERE id = %s", (cluster_id,))
    row = cur.fetchone()
    return int(row[0]) if row else 0


def _refresh_cluster(cur: Any, cluster_id: int) -> None:
    """Recount a cluster an article left (from its members, via the cluster_id index)."""
    cur.execute(
        """WITH m AS (SELECT count(*) AS n, min(first_seen_at) AS first_seen,
                             max(first_seen_at) AS last_seen
                      FROM articles WHERE cluster_id = %(id)s)
           UPDATE story_clusters c SET article_count = m.n,
               first_seen_at = coalesce(m.first_seen, c.first_seen_at),
               last_seen_at = coalesce(m.last_seen, c.last_seen_at)
           FROM m WHERE c.id = %(id)s""",
        {"id": cluster_id},
    )
    cur.execute("DELETE FROM story_clusters WHERE id = %s AND article_count = 0", (cluster_id,))


# --------------------------------------------------------------------------- batch path

# Every batch article's stored hits in one statement: its keys matched to the bands within
# the time window, counted per (article, stored article), ranked per article like
# `_CANDIDATES_SQL` and cut at the limit before the signature/cluster filter (which
# `decide_batch` applies). A stored article's signature comes once, on its first row. (The
# batch's own ids need no excluding: bands reference stored articles, and the batch is not
# stored yet.) `{stored}` is how keys meet the bands: `_JOIN_BANDS`, one join the planner
# runs as a sort and merge of the whole band table (cheapest while the table is small), or
# `_PROBE_BANDS`, one primary-key probe per key, its window in the index condition (OFFSET 0
# keeps the planner from flattening it into the join): cost by keys, not by archive.
_BATCH_HITS_SQL = """
WITH keys AS (
    SELECT * FROM unnest(%(idx)s::integer[], %(bands)s::smallint[], %(buckets)s::bigint[],
                         %(days)s::integer[]) AS k(idx, band, bucket, day)
), hits AS (
    SELECT k.idx, l.article_id, count(*) AS shared,
           row_number() OVER (PARTITION BY k.idx ORDER BY count(*) DESC, l.article_id) AS rank
    FROM keys k
    {stored}
    GROUP BY k.idx, l.article_id
)
SELECT h.idx, h.article_id, h.shared, a.cluster_id,
       CASE WHEN row_number() OVER (PARTITION BY h.article_id ORDER BY h.idx) = 1
            THEN m.signature END
FROM hits h
JOIN articles a ON a.id = h.article_id
LEFT JOIN article_minhash m ON m.article_id = h.article_id AND m.params = %(params)s
WHERE h.rank <= %(limit)s
"""
_JOIN_BANDS = """JOIN article_lsh_bands l ON l.band = k.band AND l.bucket = k.bucket
        AND l.seen_day BETWEEN k.day - %(window)s AND k.day + %(window)s"""
_PROBE_BANDS = """CROSS JOIN LATERAL (
        SELECT b.article_id FROM article_lsh_bands b
        WHERE b.band = k.band AND b.bucket = k.bucket
          AND b.seen_day BETWEEN k.day - %(window)s AND k.day + %(window)s
        OFFSET 0) l"""
#: Probe key by key once the band table holds more rows than this per key of the batch
#: (its planner estimate, `pg_class.reltuples`); join below. For a batch of 500 articles
#: (21,000 keys) the join was faster at 34,000 band rows and the probes at 69,000 and more
#: (docs/clusters.md, "Time window").
PROBE_ROWS_PER_KEY = 2.5


# Folds merged stored clusters into their targets (deleting their rows) and adds the
# batch's articles to every cluster they joined, in one statement: counts add up and
# first/last seen widen exactly as `assign_cluster`'s increments and merges would.
_COUNT_SQL = """
WITH folded AS (
    DELETE FROM story_clusters c
    USING unnest(%(old)s::bigint[], %(into)s::bigint[]) AS f(old, target)
    WHERE c.id = f.old
    RETURNING f.target AS id, c.article_count AS n, c.first_seen_at AS first_seen,
              c.last_seen_at AS last_seen
), delta AS (
    SELECT id, n, first_seen, last_seen FROM folded
    UNION ALL
    SELECT * FROM unnest(%(ids)s::bigint[], %(counts)s::integer[], %(firsts)s::timestamptz[],
                         %(lasts)s::timestamptz[]) AS d(id, n, first_seen, last_seen)
), total AS (
    SELECT id, sum(n) AS n, min(first_seen) AS first_seen, max(last_seen) AS last_seen
    FROM delta GROUP BY id
)
UPDATE story_clusters c SET article_count = c.article_count + t.n,
    first_seen_at = least(c.first_seen_at, t.first_seen),
    last_seen_at = greatest(c.last_seen_at, t.last_seen)
FROM total t WHERE c.id = t.id
"""

#: Above any real cluster id: new clusters are numbered from here while a batch is planned.
_PROVISIONAL = 1 << 62


@dataclass
class ClusterPlan:
    """What `plan_clusters` decided for a batch of new articles, for `write_plan`.

    `assignments`: one per input article, in order, as `assign_cluster` would have
    returned them one by one; `cluster_of`: article id -> its cluster after all the
    batch's merges (the `cluster_id` to insert the article with).
    """

    assignments: list[ClusterAssignment]
    cluster_of: dict[int, int]
    params: ClusterParams = DEFAULT_PARAMS
    #: Clusters opened by the batch and not folded later in it: rows `write_plan` inserts.
    new_clusters: list[int] = field(default_factory=list)
    #: Stored clusters the batch merged away -> the cluster they were folded into.
    folded: dict[int, int] = field(default_factory=dict)
    items: list[Sketched] = field(default_factory=list)


def _sketched(article: NewArticle, params: ClusterParams) -> Sketched:
    if article.first_seen_at.tzinfo is None:
        raise ValueError(f"article {article.article_id}: first_seen_at must be timezone-aware")
    if article.signature is not None and article.shingle_count is not None:
        values, count = np.asarray(article.signature, dtype=np.uint32), article.shingle_count
        if len(values) != params.num_perm:
            raise ValueError(f"article {article.article_id}: signature has {len(values)} "
                             f"values, params want {params.num_perm}")
    else:
        values, count = sketch(article.title, article.body, article.language, params)
    return Sketched(article, values, count, article_band_keys(values, count, params))


def _int_array(values: Iterable[int]) -> str:
    """A Postgres array literal ('{1,2,3}'): one constant for the server to parse, where
    psycopg2's ARRAY[1,2,3] for a Python list is one expression per element (for the ~30,000
    keys of a batch, 100 ms of planning)."""
    return "{" + ",".join(map(str, values)) + "}"


def _stored_hits(cur: Any, items: Sequence[Sketched],
                 params: ClusterParams) -> list[list[StoredHit]]:
    """Each batch article's top stored hits, from one query."""
    idx = [i for i, item in enumerate(items) for _ in item.keys]
    out: list[list[StoredHit]] = [[] for _ in items]
    if not idx:
        return out
    days = [item.day for item in items]
    # The planner's estimate (-1 until the table is first analysed), plus the rows this
    # transaction wrote, which no estimate counts yet (a load's earlier batches).
    cur.execute("""SELECT greatest(c.reltuples, 0) + pg_stat_get_xact_tuples_inserted(c.oid)
                          - pg_stat_get_xact_tuples_deleted(c.oid)
                   FROM pg_class c WHERE c.oid = 'article_lsh_bands'::regclass""")
    stored_rows = float(cur.fetchone()[0])
    probe = stored_rows > PROBE_ROWS_PER_KEY * len(idx)
    cur.execute(_BATCH_HITS_SQL.format(stored=_PROBE_BANDS if probe else _JOIN_BANDS), {
        "idx": _int_array(idx), "bands": _int_array(b for item in items for b, _ in item.keys),
        "buckets": _int_array(k for item in items for _, k in item.keys),
        "days": _int_array(days[i] for i in idx), "window": params.window_days,
        "limit": params.max_candidates, "params": params.tag,
    })
    rows = cur.fetchall()
    signatures = {aid: signature_from_bytes(sig) for _, aid, _, _, sig in rows if sig is not None}
    for i, aid, shared, cid, _ in rows:
        out[i].append(StoredHit(int(aid), int(shared), None if cid is None else int(cid),
                                signatures.get(aid)))
    return out


def plan_clusters(conn: Any, articles: Sequence[NewArticle],
                  params: ClusterParams = DEFAULT_PARAMS,
                  timer: PhaseTimer = NO_TIMER) -> ClusterPlan:
    """Decide the clusters of new articles as `assign_cluster` would, one by one in order.

    Reads only: one query for all stored candidates, one `nextval` query for the new
    clusters' ids (allocated in input order, as the sequential calls would). Insert the
    articles with `cluster_id = plan.cluster_of[id]`, then call `write_plan` in the same
    transaction. The plan is valid while no other transaction changes the clusters it read.

    :param articles: rows not inserted yet, ids pre-allocated from `articles_id_seq`.
    :raises ValueError: on repeated article ids, a naive `first_seen_at` or a signature of
        the wrong length.
    """
    ids = [a.article_id for a in articles]
    if len(set(ids)) != len(ids):
        raise ValueError("an article id appears twice in one batch")
    with timer.phase("cluster keys"):
        items = [_sketched(a, params) for a in articles]
    with conn.cursor() as cur:
        with timer.phase("cluster candidates"):
            stored = _stored_hits(cur, items, params)
        with timer.phase("cluster decisions"):
            batch = decide_batch(items, stored, _PROVISIONAL, params)
        real: dict[int, int] = {}
        if batch.created:
            cur.execute("SELECT nextval(pg_get_serial_sequence('story_clusters', 'id')) "
                        "FROM generate_series(1, %s)", (len(batch.created),))
            real = dict(zip(batch.created, sorted(int(r[0]) for r in cur.fetchall()),
                            strict=True))

    def to_real(cluster_id: int) -> int:
        return real.get(cluster_id, cluster_id)

    assignments = [
        ClusterAssignment(to_real(a.cluster_id), a.is_new_cluster, a.matched_article_id,
                          a.similarity, tuple(to_real(c) for c in a.merged_cluster_ids))
        for a in batch.assignments
    ]
    for article, got in zip(articles, assignments, strict=True):
        _log_assignment(article.article_id, article.outlet, article.language, got)
    return ClusterPlan(
        assignments=assignments,
        cluster_of={a: to_real(c) for a, c in zip(ids, batch.final, strict=True)},
        params=params,
        new_clusters=[real[c] for c in batch.created if c not in batch.folded],
        folded={c: to_real(t) for c, t in batch.folded.items() if c not in real},
        items=items,
    )


def _copy(cur: Any, table: str, columns: str, rows: Iterable[str]) -> None:
    buf = io.StringIO("".join(rows))
    cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buf)


def write_plan(conn: Any, plan: ClusterPlan) -> None:
    """Write a plan after its articles were inserted with `cluster_id = plan.cluster_of[id]`.

    Inserts the new `story_clusters` rows with their counts, folds merged stored clusters
    (their articles move, their rows go), counts the batch into every stored cluster it
    touched (one statement), and COPYs the articles' `article_minhash` and
    `article_lsh_bands` rows (plain COPY: the articles are new, so no row of theirs can
    exist). No commit. The articles'
    `cluster_id` foreign key is checked at commit (V013), so the order of the inserts
    within the transaction does not matter.
    """
    params = plan.params
    items = plan.items
    per_cluster: dict[int, list[datetime]] = {}
    for item in items:
        per_cluster.setdefault(plan.cluster_of[item.article.article_id], []).append(
            item.article.first_seen_at)
    # A new cluster's articles are all in this batch (stored clusters are never folded into
    # one: a merge keeps the lowest id): its row is written once, complete.
    new = set(plan.new_clusters)
    stored = {c: seen for c, seen in per_cluster.items() if c not in new}
    with conn.cursor() as cur:
        if plan.new_clusters:
            cur.execute(
                """INSERT INTO story_clusters (id, first_seen_at, last_seen_at, article_count)
                   SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[],
                                        %s::integer[])""",
                (plan.new_clusters, [min(per_cluster[c]) for c in plan.new_clusters],
                 [max(per_cluster[c]) for c in plan.new_clusters],
                 [len(per_cluster[c]) for c in plan.new_clusters]))
        touched = sorted({*stored, *plan.folded, *plan.folded.values()})
        if touched:
            # lock in id order, like `_merge_clusters`, so concurrent writers cannot deadlock
            cur.execute("SELECT id FROM story_clusters WHERE id = ANY(%s) ORDER BY id "
                        "FOR UPDATE", (touched,))
        if plan.folded:
            cur.execute(
                """UPDATE articles a SET cluster_id = f.target
                   FROM unnest(%s::bigint[], %s::bigint[]) AS f(old, target)
                   WHERE a.cluster_id = f.old""",
                (list(plan.folded), list(plan.folded.values())))
        if touched:
            cur.execute(_COUNT_SQL, {
                "old": list(plan.folded), "into": list(plan.folded.values()),
                "ids": list(stored), "counts": [len(v) for v in stored.values()],
                "firsts": [min(v) for v in stored.values()],
                "lasts": [max(v) for v in stored.values()],
            })
        _copy(cur, "article_minhash", "article_id, num_perm, signature, shingle_count, params, "
              "matched_article_id, similarity", (
                  f"{item.article.article_id}\t{params.num_perm}"
                  f"\t\\\\x{signature_bytes(item.values).hex()}\t{item.shingle_count}"
                  f"\t{params.tag}\t{_copy_value(got.matched_article_id)}"
                  f"\t{_copy_value(got.similarity)}\n"
                  for item, got in zip(items, plan.assignments, strict=True)))
        _copy(cur, "article_lsh_bands", "band, seen_day, bucket, article_id", (
            f"{band}\t{day}\t{bucket}\t{item.article.article_id}\n"
            for item in items for day in (item.day,) for band, bucket in item.keys))


def _copy_value(value: float | int | None) -> str:
    return "\\N" if value is None else repr(value)


# --------------------------------------------------------------------------- backfill

def backfill(conn: Any, batch_size: int = 500, params: ClusterParams = DEFAULT_PARAMS) -> int:
    """Cluster stored articles that have no cluster (or were sketched with other params).

    Oldest first, so originals come before their copies. Unlike `assign_cluster`, this
    commits after every `batch_size` articles (a long backfill keeps its progress if it
    stops); rerunning it continues where it stopped. Returns how many it assigned.
    """
    done = 0
    while True:
        with conn.cursor() as cur:
            cur.execute(
                """SELECT a.id, a.title, a.body, a.language, a.source, a.first_seen_at
                   FROM articles a LEFT JOIN article_minhash m ON m.article_id = a.id
                   WHERE a.cluster_id IS NULL OR m.params IS DISTINCT FROM %s
                   ORDER BY a.first_seen_at, a.id LIMIT %s""",
                (params.tag, batch_size),
            )
            rows = cur.fetchall()
        if not rows:
            return done
        for article_id, title, body, language, outlet, first_seen_at in rows:
            assign_cluster(conn, article_id, title, body, language, outlet, first_seen_at,
                           params)
        conn.commit()
        done += len(rows)
        LOGGER.info("clustered %d articles", done)


def main(argv: list[str] | None = None) -> int:
    from scrapers.cli import catch_up_main

    return catch_up_main(argv, "Assign story clusters to stored articles that have none.",
                         backfill, 500, "articles clustered")
