"""Read Autobahn|Testsuite's reports and write the conformance summary (no Python 2.7 needed).

``wstest -m fuzzingclient`` writes ``index.json`` in its report folder: for each agent
(the server's name) and each case id (``"7.13.1"``) two verdicts, ``behavior`` (did the
server do what RFC 6455 asks with the data and frames?) and ``behaviorClose`` (did it close
the connection the way the RFC asks?), each one of OK, NON-STRICT, INFORMATIONAL,
UNIMPLEMENTED, FAILED, WRONG CODE, UNCLEAN or FAILED BY CLIENT; and one JSON file per case
with the details (what was expected, what was received, the close codes).

The rule here is strict: a case passes only if **both** verdicts are exactly OK. NON-STRICT
(allowed but not the preferred behaviour) is not a pass. The only exception is the
handful of cases that Autobahn itself always marks INFORMATIONAL, because the RFC leaves
the outcome open (:data:`INFORMATIONAL_BY_DESIGN`): they are listed apart, neither passed
nor failed. A case that was asked for but is missing from the report (the run stopped
early) counts as not OK.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

OK = "OK"
INFORMATIONAL = "INFORMATIONAL"

#: Cases that Autobahn|Testsuite 0.8.2 always reports as INFORMATIONAL/INFORMATIONAL,
#: whatever the server does (their ``onConnectionLost`` sets both verdicts so):
#: 7.1.6 (a 256 KiB message, a Close and a Ping sent back to back: whether the message is
#: echoed before the close is up to the implementation) and 7.13.1 / 7.13.2 (Close codes
#: 5000 and 65535, whose handling the RFC does not define).
INFORMATIONAL_BY_DESIGN = frozenset({"7.1.6", "7.13.1", "7.13.2"})

#: Autobahn's names for its case groups (autobahntestsuite/case/__init__.py). There are no
#: groups 8 and 11; 12 and 13 test permessage-deflate.
GROUP_NAMES = {
    1: "Framing",
    2: "Pings/Pongs",
    3: "Reserved Bits",
    4: "Opcodes",
    5: "Fragmentation",
    6: "UTF-8 Handling",
    7: "Close Handling",
    9: "Limits/Performance",
    10: "Misc",
    12: "Compression (payloads)",
    13: "Compression (parameters)",
}

#: Longest text shown for one event or field of a case's details (payloads can be 16 MiB).
DETAIL_CHARS = 160


def case_key(case: str) -> Tuple[int, ...]:
    """Sort key: ``"9.10.2"`` after ``"9.2.1"`` (numbers, not text)."""
    return tuple(int(part) for part in case.split("."))


@dataclass(frozen=True)
class CaseResult:
    """One case's two verdicts, as ``index.json`` gives them."""

    case: str
    behavior: str
    behavior_close: str
    duration_ms: Optional[int] = None
    remote_close_code: Optional[int] = None
    report_file: Optional[str] = None

    @property
    def group(self) -> int:
        return case_key(self.case)[0]

    @property
    def verdict(self) -> str:
        """``"ok"``, ``"informational"`` (by design only) or ``"not ok"``."""
        if self.behavior == OK and self.behavior_close == OK:
            return "ok"
        both_informational = self.behavior == self.behavior_close == INFORMATIONAL
        if both_informational and self.case in INFORMATIONAL_BY_DESIGN:
            return "informational"
        return "not ok"


@dataclass
class GroupCount:
    """How one group's cases ended."""

    group: int
    cases: int = 0
    ok: int = 0
    not_ok: int = 0
    informational: int = 0
    missing: int = 0

    @property
    def name(self) -> str:
        return GROUP_NAMES.get(self.group, "?")


@dataclass
class Summary:
    """All results of one agent, and the cases that were asked for."""

    results: Dict[str, CaseResult]
    expected: List[str] = field(default_factory=list)

    def by_verdict(self, verdict: str) -> List[CaseResult]:
        found = [r for r in self.results.values() if r.verdict == verdict]
        return sorted(found, key=lambda r: case_key(r.case))

    @property
    def missing(self) -> List[str]:
        """Cases asked for that the report does not have."""
        return sorted(set(self.expected) - set(self.results), key=case_key)

    @property
    def all_ok(self) -> bool:
        """True if something ran and every case is OK or informational by design."""
        return bool(self.results) and not self.by_verdict("not ok") and not self.missing

    def groups(self) -> List[GroupCount]:
        counts: Dict[int, GroupCount] = {}
        for result in self.results.values():
            count = counts.setdefault(result.group, GroupCount(result.group))
            count.cases += 1
            if result.verdict == "ok":
                count.ok += 1
            elif result.verdict == "informational":
                count.informational += 1
            else:
                count.not_ok += 1
        for case in self.missing:
            count = counts.setdefault(case_key(case)[0], GroupCount(case_key(case)[0]))
            count.cases += 1
            count.missing += 1
        return [counts[g] for g in sorted(counts)]


def load_summary(index_path: Path, agent: str, expected: Optional[List[str]] = None) -> Summary:
    """Read one agent's results from ``index.json`` (no results if the file or agent is absent)."""
    results: Dict[str, CaseResult] = {}
    if index_path.is_file():
        index = json.loads(index_path.read_text())
        for case, entry in index.get(agent, {}).items():
            results[case] = CaseResult(
                case=case,
                behavior=entry.get("behavior", "?"),
                behavior_close=entry.get("behaviorClose", "?"),
                duration_ms=entry.get("duration"),
                remote_close_code=entry.get("remoteCloseCode"),
                report_file=entry.get("reportfile"),
            )
    return Summary(results, list(expected or []))


def short(value: Any, limit: int = DETAIL_CHARS) -> str:
    """``value`` as one line of at most ``limit`` characters (JSON for lists and dicts)."""
    text = value if isinstance(value, str) else json.dumps(value)
    text = " ".join(re.sub(r"<br\s*/?>", " ", text).split())  # Autobahn writes HTML breaks
    return text if len(text) <= limit else text[: limit - 3] + "..."


def case_details(report_dir: Path, result: CaseResult, peer: str = "server") -> List[str]:
    """What Autobahn says about one case: description, expected vs observed, close codes."""
    if not result.report_file or not (report_dir / result.report_file).is_file():
        return ["(no case report file)"]
    report = json.loads((report_dir / result.report_file).read_text())
    lines = [
        f"what: {short(report.get('description', '?'))}",
        f"expected: {short(report.get('expectation', '?'))}",
    ]
    for kind, events in sorted(report.get("expected", {}).items()):
        lines.append(f"expected events ({kind}): {short(events)}")
    lines.append(f"observed events: {short(report.get('received', []))}")
    lines.append(f"Autobahn: {short(report.get('result', ''))}")
    closing = report.get("resultClose", "")
    lines.append(
        f"close: {short(closing)} (expected close: {short(report.get('expectedClose', {}))}; "
        f"{peer} sent code {report.get('remoteCloseCode')} "
        f"reason {short(report.get('remoteCloseReason'), 60)}; "
        f"clean: {report.get('wasClean')}, dropped by Autobahn: {report.get('droppedByMe')})"
    )
    return lines


def render(summary: Summary, info: Dict[str, str], report_dir: Path, peer: str = "server") -> str:
    """The Markdown of ``SUMMARY.md``: the run's facts, counts per group, every case not OK.

    ``peer`` is the role under test (``"server"``, or ``"client"`` against Autobahn's fuzzing
    server): the close codes the report lists are the ones that side sent.
    """
    out = ["# Autobahn|Testsuite conformance: last run", ""]
    out += [f"- {key}: {value}" for key, value in info.items()]
    not_ok = summary.by_verdict("not ok")
    informational = summary.by_verdict("informational")
    passed = len(summary.by_verdict("ok"))
    total = len(summary.results) + len(summary.missing)
    if summary.all_ok:
        verdict = f"**PASS**: {passed} of {total} cases OK"
    else:
        verdict = f"**FAIL**: {passed} of {total} cases OK, {len(not_ok)} not OK"
        if summary.missing:
            verdict += f", {len(summary.missing)} missing from the report"
    if informational:
        verdict += f"; {len(informational)} informational by design (neither pass nor fail)"
    out += [f"- result: {verdict}", ""]
    out += [
        "A case passes only if both of Autobahn's verdicts (behavior, close behavior) are OK.",
        "",
        "| group | name | cases | OK | not OK | informational | missing |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for g in summary.groups():
        out.append(
            f"| {g.group} | {g.name} | {g.cases} | {g.ok} | {g.not_ok} "
            f"| {g.informational} | {g.missing} |"
        )
    out += ["", "## Cases not OK", ""]
    if not not_ok and not summary.missing:
        out.append("None.")
    for result in not_ok:
        out.append(
            f"- **{result.case}**: behavior {result.behavior}, "
            f"close behavior {result.behavior_close}"
        )
        out += [f"  - {line}" for line in case_details(report_dir, result, peer)]
    for case in summary.missing:
        out.append(f"- **{case}**: missing from the report (the run ended before it)")
    out += ["", "## Informational by design", ""]
    if not informational:
        out.append("None in this run.")
    for result in informational:
        report_file = report_dir / (result.report_file or "")
        note = ""
        if result.report_file and report_file.is_file():
            note = short(json.loads(report_file.read_text()).get("result", ""))
        out.append(f"- {result.case}: {note} ({peer} sent close code {result.remote_close_code})")
    return "\n".join(out) + "\n"
