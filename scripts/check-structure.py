#!/usr/bin/env python3
"""Checks the shape of the source tree (issue 13, docs/ARCHITECTURE.md, "Checked"):

  1. no source file under src/ is over MAX_FILE_LINES lines;
  2. no function under src/ is over MAX_FUNCTION_LINES lines (a brace-matching
     reading of the code with comments and literals removed: a function is a
     block whose head ends with a parameter list, at namespace or class level);
  3. the modules each module's files include (src/cutover/<m>/ and src/cli/)
     are exactly the ones the table in docs/ARCHITECTURE.md lists, and
  4. the cutover_* libraries each module's CMake targets link directly are
     exactly the same list, PUBLIC exactly where a header of the module
     includes the other module, PRIVATE where only its .cc files do.

  scripts/check-structure.py [ROOT] [--print-table] [--links-only]
    exit 0 when all hold, 1 with one line a problem; --links-only checks 3 and 4 only.
"""
import os
import re
import sys

MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 100

args = [a for a in sys.argv[1:] if not a.startswith("--")]
root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
problems = []


def sources():
    for folder, _, files in os.walk(os.path.join(root, "src")):
        for name in sorted(files):
            if name.endswith((".cc", ".h")):
                yield os.path.join(folder, name)


def strip(text):
    """The text with comments, string and character literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + "".join(ch for ch in text[i:j] if ch == "\n"))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator: 1'000'000
                out.append(" ")
                i += 1
                continue
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


FUNCTION_HEAD = re.compile(
    r"\)\s*(const|noexcept(\([^)]*\))?|override|final|mutable|&|&&|\s)*(->\s*[\w:<>,\s\*&]+)?\s*$")
INIT_LIST_HEAD = re.compile(r"\)\s*(noexcept)?\s*:\s*[\w:]+[({].*[)}]\s*$", re.S)
CONTROL = re.compile(r"\b(if|for|while|switch|catch|return)\s*\(")


def functions(path):
    text = strip(open(path, encoding="utf-8", errors="replace").read())
    stack = []  # (kind, start line)
    head_start = 0
    line = 1
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        elif c == "{":
            head = text[head_start:i].strip()
            enclosing = stack[-1][0] if stack else "namespace"
            if re.search(r"\bnamespace\b", head) or head.startswith("extern"):
                kind = "namespace"
            elif re.search(r"\b(class|struct|union|enum)\b", head) and "(" not in head.split(":")[0]:
                kind = "type"
            elif enclosing in ("namespace", "type") and (FUNCTION_HEAD.search(head) or INIT_LIST_HEAD.search(head)) \
                    and not CONTROL.search(head.split("\n")[-1]) and "=" not in head.split("(")[0]:
                kind = "function"
            else:
                kind = "block"
            stack.append((kind, line, head))
            head_start = i + 1
        elif c == "}":
            if stack:
                kind, start, head = stack.pop()
                if kind == "function" and line - start + 1 > MAX_FUNCTION_LINES:
                    name = re.sub(r"\s+", " ", head.split("(")[0]).split(" ")[-1]
                    yield name, start, line - start + 1
            head_start = i + 1
        elif c == ";":
            head_start = i + 1


def module_of(path):
    rel = os.path.relpath(path, os.path.join(root, "src"))
    parts = rel.split(os.sep)
    if parts[0] == "cutover":
        return parts[1]
    return parts[0]  # cli


def include_graph(headers_only=False):
    graph = {}
    for path in sources():
        mod = module_of(path)
        graph.setdefault(mod, set())
        if headers_only and not path.endswith(".h"):
            continue
        for m in re.finditer(r'^\s*#\s*include\s+"cutover/([a-z_0-9]+)/', open(path, encoding="utf-8").read(), re.M):
            if m.group(1) != mod:
                graph[mod].add(m.group(1))
    return graph


def architecture_table():
    text = open(os.path.join(root, "docs", "ARCHITECTURE.md"), encoding="utf-8").read()
    table = {}
    for m in re.finditer(r"^\|\s*`?([a-z_0-9]+)`?\s*\|\s*([^|]*)\|\s*$", text, re.M):
        mod, deps = m.group(1), m.group(2)
        if mod == "module":
            continue
        table[mod] = {d.strip(" `") for d in deps.split(",") if d.strip(" `—-")}
    return table


def cmake_links():
    """module -> (the modules its CMake targets link directly, those of them linked PUBLIC); a target's module
    is its sources' folder."""
    texts = {}
    for cmake in ("src/cutover/CMakeLists.txt", "src/cli/CMakeLists.txt"):
        path = os.path.join(root, cmake)
        if os.path.exists(path):
            texts[cmake] = re.sub(r"#.*", "", open(path, encoding="utf-8").read())
    target_module = {"cutover": "cli"}
    for cmake, text in texts.items():
        for m in re.finditer(r"add_library\(\s*(\w+)\s+STATIC\s+([^)\s]+)", text):
            source = m.group(2)
            target_module[m.group(1)] = source.split("/")[0] if cmake.startswith("src/cutover") else "cli"
    links, public = {}, {}
    for text in texts.values():
        for m in re.finditer(r"target_link_libraries\(\s*(\w+)([^)]*)\)", text):
            mod = target_module.get(m.group(1))
            if mod is None:
                continue
            links.setdefault(mod, set())
            public.setdefault(mod, set())
            scope = "PUBLIC"  # the plain signature (no keyword) propagates like PUBLIC
            for word in m.group(2).split():
                if word in ("PUBLIC", "PRIVATE", "INTERFACE"):
                    scope = word
                elif word in target_module and target_module[word] != mod:
                    links[mod].add(target_module[word])
                    if scope != "PRIVATE":
                        public[mod].add(target_module[word])
    for mod in set(target_module.values()):
        links.setdefault(mod, set())
        public.setdefault(mod, set())
    return links, public


for path in [] if "--links-only" in sys.argv else sources():
    rel = os.path.relpath(path, root)
    count = sum(1 for _ in open(path, encoding="utf-8", errors="replace"))
    if count > MAX_FILE_LINES:
        problems.append(f"{rel}: {count} lines (at most {MAX_FILE_LINES})")
    for name, start, length in functions(path):
        problems.append(f"{rel}:{start}: function {name} is {length} lines (at most {MAX_FUNCTION_LINES})")

includes = include_graph()
if "--print-table" in sys.argv:
    print("| module | includes |")
    print("| --- | --- |")
    for mod in sorted(includes):
        print(f"| {mod} | {', '.join(sorted(includes[mod])) or '—'} |")
    sys.exit(0)
table = architecture_table()
links, public_links = cmake_links()
header_includes = include_graph(headers_only=True)
if not table:
    problems.append("docs/ARCHITECTURE.md: no module table (| module | includes |) found")
for mod in sorted(set(includes) | set(table)):
    want = table.get(mod)
    have = includes.get(mod, set())
    if want is None:
        problems.append(f"docs/ARCHITECTURE.md: module {mod} is missing from the table (it includes {sorted(have)})")
        continue
    if have != want:
        problems.append(f"module {mod}: includes {sorted(have)} but docs/ARCHITECTURE.md lists {sorted(want)}")
    if mod not in links:
        continue  # a module without a CMake target of its own (none today)
    if links[mod] != want:
        problems.append(f"module {mod}: CMake links {sorted(links[mod])} but docs/ARCHITECTURE.md lists {sorted(want)}")
    public_want = header_includes.get(mod, set())
    for dep in sorted((public_want - public_links[mod]) & links[mod]):
        problems.append(f"module {mod}: a header includes {dep}, so link it PUBLIC (it is linked PRIVATE)")
    for dep in sorted(public_links[mod] - public_want):
        problems.append(f"module {mod}: only .cc files include {dep}, so link it PRIVATE (it is linked PUBLIC)")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
