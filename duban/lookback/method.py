"""The draw, in plain arithmetic anyone can redo: no random module, no database.

Method "sha256-v1", in words (the draw's page says the same):

1. Candidates: the closed problems of the inspection in the region, closed at least
   `min_age_days` days before the "as of" date (by the local date of closing), listed by
   ledger number, then by id. A problem without a ledger number is written "#" + its id.
2. Score of a problem: the SHA-256 of the text "<seed>:<ledger number>" (UTF-8), written as
   64 lowercase hexadecimal digits. Lower score = drawn first.
3. How many: the size given, or for a share, the share × the candidates rounded up.
4. Strata (by lead unit and/or category): each stratum gets size × its candidates ÷ all
   candidates, rounded down; the places left over go one each to the strata with the largest
   remainders (ties: stratum name in code-point order). Within each stratum the lowest scores
   are drawn; without strata, the lowest scores overall (ties: ledger number, then id).
5. Checkers (双随机): for each drawn problem, every pool member whose units are not the
   problem's lead, co-operating or implementing unit, nor above or below one of them in the
   unit tree, is scored SHA-256 of "<seed>:<ledger number>:<user name>"; the lowest score
   checks the problem.
"""

import hashlib
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from duban.org.scope import nested

METHOD = "sha256-v1"


@dataclass(frozen=True)
class Candidate:
    id: int
    ledger_number: str
    stratum: str = ""
    # Paths of the units whose people may not check this problem.
    unit_paths: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.ledger_number or f"#{self.id}"


@dataclass(frozen=True)
class PoolMember:
    id: int
    username: str
    unit_paths: tuple[str, ...] = ()


@dataclass
class Drawn:
    candidate: Candidate
    score: str
    checker: PoolMember | None = None
    checker_score: str = ""


@dataclass
class Result:
    seed: str
    candidates: int
    size: int
    drawn: list[Drawn] = field(default_factory=list)
    allocation: dict[str, int] = field(default_factory=dict)

    @property
    def ledger_numbers(self) -> list[str]:
        return [d.candidate.key for d in self.drawn]


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def score(seed: str, candidate: Candidate) -> str:
    return sha256_hex(f"{seed}:{candidate.key}")


def checker_score(seed: str, candidate: Candidate, member: PoolMember) -> str:
    return sha256_hex(f"{seed}:{candidate.key}:{member.username}")


def sample_size(candidates: int, size: int | None, share: Decimal | None) -> int:
    """How many to draw: the size, or the share of the candidates rounded up."""
    if share is not None:
        return math.ceil(Fraction(Decimal(share)) * candidates)
    return size


def allocate(counts: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation by largest remainder (Hamilton), exactly, in fractions."""
    total = sum(counts.values())
    quotas = {name: Fraction(n * count, total) for name, count in counts.items()}
    result = {name: math.floor(q) for name, q in quotas.items()}
    left = n - sum(result.values())
    by_remainder = sorted(quotas, key=lambda name: (-(quotas[name] - result[name]), name))
    for name in by_remainder[:left]:
        result[name] += 1
    return result


def _order(candidate: Candidate):
    return (candidate.ledger_number, candidate.id)


def draw(seed: str, candidates: list[Candidate], n: int) -> Result:
    """Draw `n` of `candidates` by their scores, per stratum when candidates carry one."""
    candidates = sorted(candidates, key=_order)
    scored = [Drawn(c, score(seed, c)) for c in candidates]
    strata: dict[str, list[Drawn]] = {}
    for item in scored:
        strata.setdefault(item.candidate.stratum, []).append(item)
    allocation = allocate({name: len(items) for name, items in strata.items()}, n)
    chosen = []
    for name, items in strata.items():
        ranked = sorted(items, key=lambda d: (d.score, *_order(d.candidate)))
        chosen.extend(ranked[: allocation[name]])
    chosen.sort(key=lambda d: _order(d.candidate))
    return Result(
        seed=seed, candidates=len(candidates), size=n, drawn=chosen, allocation=allocation
    )


def related(a: str, b: str) -> bool:
    """Two units are the same, or one lies above the other in the unit tree (paths "/1/5/")."""
    return nested(a, b)


def independent(member: PoolMember, candidate: Candidate) -> bool:
    return not any(related(m, c) for m in member.unit_paths for c in candidate.unit_paths)


def draw_checkers(seed: str, result: Result, pool: list[PoolMember]) -> list[Drawn]:
    """Give each drawn problem its checker; the drawn problems no one may check are returned."""
    unmatched = []
    for item in result.drawn:
        eligible = [m for m in pool if independent(m, item.candidate)]
        if not eligible:
            unmatched.append(item)
            continue
        scored = sorted(
            ((checker_score(seed, item.candidate, m), m.username, m) for m in eligible),
            key=lambda t: (t[0], t[1]),
        )
        item.checker_score, _name, item.checker = scored[0]
    return unmatched
