"""Dependency audit for `make test`: every pinned package against known vulnerabilities.

1. Online: pip-audit (in .venv-tools, from requirements-tools.txt) checks requirements.txt
   against PyPI's vulnerability data. This is the real audit.
2. When that data cannot be reached (the build machines here reach the package index but not its JSON
   API nor OSV), the pins are checked against security/known-advisories.yml instead, and the output says
   plainly that the offline list was used: it is only as current as its last update.

Either way a vulnerability fails the run unless security/accepted-vulnerabilities.yml lists it with a
reason. Exit 0: clean (or only accepted findings); 1: a finding; 2: the audit itself could not run.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
ADVISORIES = ROOT / "security" / "known-advisories.yml"
ACCEPTED = ROOT / "security" / "accepted-vulnerabilities.yml"
PIP_AUDIT = ROOT / ".venv-tools" / "bin" / "pip-audit"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: Path = REQUIREMENTS) -> dict[str, str]:
    found = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            found[canonical(match.group(1))] = match.group(2)
    return found


def accepted_ids(path: Path = ACCEPTED) -> dict[str, str]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    for entry in entries:
        if not str(entry.get("reason", "")).strip():
            raise SystemExit(f"{path.name}: {entry.get('id')} has no reason; every exception needs one")
    return {str(e["id"]): str(e["reason"]).strip() for e in entries}


def offline_findings(pinned: dict[str, str], path: Path = ADVISORIES) -> list[dict]:
    findings = []
    for advisory in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
        version = pinned.get(canonical(advisory["package"]))
        if version and Version(version) in SpecifierSet(advisory["affected"]):
            findings.append(
                {
                    "id": advisory["id"],
                    "package": advisory["package"],
                    "version": version,
                    "summary": advisory.get("summary", ""),
                }
            )
    return findings


def online_findings() -> list[dict] | None:
    """pip-audit's findings, or None when its vulnerability data could not be reached."""
    if not PIP_AUDIT.exists():
        return None
    done = subprocess.run(
        [
            str(PIP_AUDIT),
            "-r",
            str(REQUIREMENTS),
            "--no-deps",
            "--disable-pip",
            "-f",
            "json",
            "--progress-spinner",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        return None
    dependencies = report.get("dependencies", []) if isinstance(report, dict) else []
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:  # every package "not found": the service answered nothing usable
        return None
    return [
        {
            "id": v["id"],
            "aliases": v.get("aliases", []),
            "package": d["name"],
            "version": d.get("version", ""),
            "summary": (v.get("description") or "")[:120],
        }
        for d in audited
        for v in d.get("vulns", [])
    ]


def is_accepted(finding: dict, accepted: dict[str, str]) -> bool:
    """Accepted under its own id or any alias (pip-audit may report a PYSEC id for a GHSA one)."""
    return any(i in accepted for i in [finding["id"], *finding.get("aliases", [])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="依赖安全审计（pip-audit；连不上漏洞库时用 security/known-advisories.yml）"
    )
    parser.add_argument("--offline", action="store_true", help="只用本地的已知漏洞清单")
    args = parser.parse_args(argv)
    accepted = accepted_ids()
    findings = None if args.offline else online_findings()
    if findings is None:
        print(
            "依赖审计：连不上 pip-audit 的在线漏洞库，改用本地清单 security/known-advisories.yml"
            "（只包含最近一次更新时已知的漏洞）",
            flush=True,
        )
        findings = offline_findings(pins())
    else:
        print("依赖审计：pip-audit 在线漏洞库", flush=True)
    open_findings = [f for f in findings if not is_accepted(f, accepted)]
    for finding in findings:
        status = "已接受（见 accepted-vulnerabilities.yml）" if is_accepted(finding, accepted) else "未处理"
        print(f"  {finding['package']} {finding['version']}: {finding['id']} {status} — {finding['summary']}")
    if open_findings:
        print(f"依赖审计失败：{len(open_findings)} 个漏洞未修复也未写明接受理由", file=sys.stderr)
        return 1
    print(f"依赖审计通过（{len(pins())} 个固定版本，{len(findings)} 个已知问题均已写明接受理由）")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
