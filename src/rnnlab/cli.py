"""The ``rnnlab`` command (console script): exercises and grading for instructors.

    rnnlab exercises build [--check]      regenerate exercises/ from solutions/ (or check they match)
    rnnlab exercises list                 list the graded exercises and their points
    rnnlab grade SUBMISSIONS --out DIR    grade a folder of student notebooks
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlab import __version__
from rnnlab.grading import grade as grading
from rnnlab.grading.checker import exercises, format_points
from rnnlab.grading.generate import MarkerError, build_exercises, check_exercises

COMMANDS = """\
commands:
  rnnlab exercises build [--check]
      regenerate exercises/ from solutions/; with --check, only verify that the
      committed exercises/ are up to date (exit 1 if not)
  rnnlab exercises list
      list the graded exercises (id, notebook, points, title), notebook by notebook
  rnnlab grade SUBMISSIONS --out DIR [--solutions DIR] [--timeout S] [--memory MB]
               [--jobs N] [--regrade] [--roster FILE] [--hints none|mistake|full]
               [--isolation bwrap|process] [--seed N] [--allow-ignored] [--no-progress]
      grade SUBMISSIONS/<student>/<notebook>.ipynb into DIR/grades.csv (one row per
      student, notebook and exercise), DIR/students.csv (totals), DIR/lms.csv (LMS
      import), DIR/written.csv (written answers) and
      DIR/feedback/<student>/<notebook>.md; a rerun skips unchanged submissions;
      exit status 1 if anything in SUBMISSIONS was ignored

Run `rnnlab COMMAND --help` for a command's options.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnlab", description="rnnlab: exercises and grading for the rnnlab course on "
                                   "recurrent neural networks.",
        epilog=COMMANDS, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ex = sub.add_parser("exercises", help="build or list the exercise notebooks",
                        description="Exercise notebooks are generated from solutions/: never edit "
                                    "exercises/ by hand.")
    ex_sub = ex.add_subparsers(dest="action", metavar="ACTION")
    build = ex_sub.add_parser(
        "build", help="regenerate exercises/ from solutions/",
        description="Write exercises/NAME.ipynb for every solutions/NAME.ipynb: answer regions "
                    "(### BEGIN SOLUTION ... ### END SOLUTION) become stubs that raise "
                    "NotImplementedError, outputs are cleared.")
    build.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 if exercises/ differs from what would be generated")
    build.add_argument("--solutions", default="solutions", metavar="DIR",
                       help="folder of solution notebooks (default: solutions)")
    build.add_argument("--exercises", default="exercises", metavar="DIR",
                       help="folder of generated exercise notebooks (default: exercises)")
    ex_sub.add_parser("list", help="list the graded exercises and their points")

    grade = sub.add_parser(
        "grade", help="grade a folder of student notebooks",
        description="Grade SUBMISSIONS/<student>/<notebook>.ipynb. Each submission runs in its own "
                    "isolated process (bwrap) with limits; its functions are scored in the grader "
                    "on fresh random inputs. Writes DIR/grades.csv, DIR/students.csv (totals), "
                    "DIR/lms.csv (LMS import), DIR/written.csv (written answers to score by hand "
                    "into DIR/manual.csv) and DIR/feedback/<student>/<notebook>.md; a rerun skips "
                    "unchanged submissions.")
    grade.add_argument("submissions", metavar="SUBMISSIONS",
                       help="folder holding <student>/<notebook>.ipynb")
    grade.add_argument("--out", required=True, metavar="DIR", help="output folder for the gradebook")
    grade.add_argument("--solutions", default=None, metavar="DIR",
                       help="the course's folder of solution notebooks (names the written answers; "
                            "never shown to submissions); default: ./solutions when it exists")
    grade.add_argument("--timeout", type=float, default=120.0, metavar="S",
                       help="wall-clock seconds per submission (default: 120)")
    grade.add_argument("--memory", type=int, default=3072, metavar="MB",
                       help="address-space limit per submission in MB (default: 3072)")
    grade.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="submissions graded in parallel (default: 1)")
    grade.add_argument("--regrade", action="store_true",
                       help="grade every submission again, even unchanged ones")
    grade.add_argument("--seed", type=int, default=None, metavar="N",
                       help="draw the random cases from this seed (reproducible runs; default: fresh "
                            "entropy for every submission)")
    grade.add_argument("--isolation", choices=("bwrap", "process"), default="bwrap",
                       help="bwrap (default): each submission runs under bubblewrap, without "
                            "network and without sight of your files; process: plain child "
                            "processes with resource limits only (weaker: they can read your files)")
    # the option's name before bubblewrap (auto and namespace meant the strongest isolation here)
    grade.add_argument("--sandbox", choices=("auto", "namespace", "process"), default=None,
                       help=argparse.SUPPRESS)
    grade.add_argument("--roster", metavar="FILE", default=None,
                       help="file of student names (one per line, or a CSV with a 'student' "
                            "column): students without a folder get rows with status 'missing'")
    grade.add_argument("--hints", choices=("none", "mistake", "full"), default="mistake",
                       help="how much advice the feedback gives on a wrong answer: none; mistake "
                            "(default): the name of a recognised mistake; full: and the "
                            "exercise's hint")
    grade.add_argument("--allow-ignored", action="store_true",
                       help="exit 0 even when files in SUBMISSIONS were ignored (they are listed)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _exercises_build(args) -> int:
    solutions = Path(args.solutions)
    if not solutions.is_dir():
        print(f"rnnlab exercises build: no folder {args.solutions!r} (run it from the course's root, "
              f"or pass --solutions)", file=sys.stderr)
        return 2
    try:
        if args.check:
            problems = check_exercises(solutions, args.exercises)
            if problems:
                print(f"{args.exercises}/ is out of date with {args.solutions}/:", file=sys.stderr)
                for line in problems:
                    print(f"  {line}", file=sys.stderr)
                print("Run `rnnlab exercises build` and commit the result.", file=sys.stderr)
                return 1
            print(f"{args.exercises}/ is up to date with {args.solutions}/")
            return 0
        changed = build_exercises(solutions, args.exercises)
    except MarkerError as err:
        print(f"rnnlab exercises build: {err}", file=sys.stderr)
        return 1
    for path in changed:
        print(f"{'wrote' if path.exists() else 'removed'} {args.exercises}/{path.name}")
    if not changed:
        print(f"{args.exercises}/ was already up to date")
    return 0


def _exercises_list() -> int:
    exs = sorted(exercises(), key=lambda e: (e.notebook, e.id))  # 6e's 06.* after chapter 6's
    if not exs:
        print("no graded exercises are registered")
        return 0
    width = max(len(e.id) for e in exs)
    nb_width = max(len(e.notebook) for e in exs)
    for e in exs:
        print(f"{e.id:<{width}}  {e.notebook:<{nb_width}}  {format_points(e.points):>4} pt  {e.title}")
    print(f"{len(exs)} exercises, {format_points(sum(e.points for e in exs))} points")
    return 0


def _grade(args) -> int:
    solutions = args.solutions
    if solutions is None and Path("solutions").is_dir():
        solutions = "solutions"
    elif solutions is None:
        print("rnnlab grade: no folder solutions/ here: written answers are found by the names "
              "the exercise notebooks give them; in a copy made before those names existed they "
              "are numbered (pass --solutions DIR to match them with the solutions)",
              file=sys.stderr)
    elif not Path(solutions).is_dir():
        print(f"rnnlab grade: --solutions {solutions!r} is not a folder of solution notebooks",
              file=sys.stderr)
        return 2
    try:
        summary = grading.grade(
            args.submissions, args.out, solutions=solutions, timeout=args.timeout,
            memory_mb=args.memory, jobs=args.jobs, regrade=args.regrade, seed=args.seed,
            isolation=args.isolation, sandbox=args.sandbox, progress=not args.no_progress,
            roster=args.roster, hints=args.hints)
    except (FileNotFoundError, ValueError, RuntimeError, OSError) as err:
        print(f"rnnlab grade: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nrnnlab grade: interrupted; run the same command again to resume (graded "
              "submissions are kept)", file=sys.stderr)
        return 130
    print(f"gradebook: {Path(args.out) / 'grades.csv'}; feedback: {Path(args.out) / 'feedback'}")
    if summary.ignored and not args.allow_ignored:
        print(f"rnnlab grade: {len(summary.ignored)} path(s) in SUBMISSIONS were ignored (listed "
              f"above); move them into <student>/<notebook>.ipynb or pass --allow-ignored",
              file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rnnlab`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "exercises":
        if args.action == "build":
            return _exercises_build(args)
        if args.action == "list":
            return _exercises_list()
        parser.parse_args(["exercises", "--help"])
        return 2
    if args.command == "grade":
        return _grade(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
