#!/usr/bin/env python3
"""Differential test data for MultiLora's eval scorers, produced by running the real reference scripts.

For every task it writes, under --out/<task>/, small data files in the official formats, LLaVA-format answer files
with adversarial answers (case, Unicode, punctuation, contractions, numbers as words, articles, letters out of
range, two answers in one reply, newlines, empty replies, missing items, duplicated and unknown ids), and
expected.json: the reference's aggregate numbers and per-item scores, which tests/MultiLora.Eval.Tests compares
with `eval score` to 1e-6 without Python. Nothing of the reference code is copied into the repository: the
scripts are read from the snapshots given on the command line (bare git directories or work trees) at run time.

    python3 generate.py --llava DIR --vqa DIR --vlmevalkit DIR --mmvet DIR --vlm-evaluation DIR --gqa-eval DIR \
        [--out tests/MultiLora.Eval.Tests/Reference/data] [--tasks pope,textvqa,...]

Needs python3 (3.11), numpy, pandas, openpyxl and tqdm (Debian: python3-numpy python3-pandas python3-openpyxl
python3-tqdm). Deterministic: the same snapshots give byte-identical output.

Choices made where a reference cannot run unchanged (all visible below):
- GT-Vision-Lab/VQA is Python 2: its two files are converted with lib2to3 after expanding tabs to 8 columns
  (Python 2's rule), so the evaluation runs with Python 3 string semantics.
- Judged tasks get a fake `openai` module whose replies are a fixed function of the request; every request and
  reply is written to judge.json, which the C# tests serve back.
- Printed figures that the scripts round are read unrounded: vqaEval/VizWiz with n=12 decimals, MM-Vet with
  --decimal_places 12, summarize_gpt_review.py with its final one-decimal round() made the identity.
- VLMEvalKit's package imports half of PyPI; only matching_util.py and dataset/utils/multiple_choice.py are loaded,
  with small stand-ins for the helpers they import (logging, in-memory dump/load).
"""
import argparse
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import random
import runpy
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

LLAVA_REPO = "haotian-liu/LLaVA"


# ----------------------------------------------------------------------------------------------------------------
# Snapshots
# ----------------------------------------------------------------------------------------------------------------

class Snapshot:
    """A repository snapshot: a bare git dir (read with git show) or a work tree."""

    def __init__(self, path, repository):
        self.path = Path(path)
        self.repository = repository
        self.bare = not (self.path / ".git").exists() and (self.path / "HEAD").exists()
        git = ["git", "--git-dir", str(self.path)] if self.bare else ["git", "-C", str(self.path)]
        self.git = git
        self.commit = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()

    def read(self, rel):
        if self.bare:
            return subprocess.run(self.git + ["show", f"{self.commit}:{rel}"], check=True, capture_output=True).stdout.decode("utf-8")
        return (self.path / rel).read_text(encoding="utf-8")

    def extract(self, rel, dest):
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(self.read(rel), encoding="utf-8")
        return dest

    def ref(self, *files):
        return {"repository": self.repository, "commit": self.commit, "files": list(files)}


@contextlib.contextmanager
def argv(*args):
    saved = sys.argv
    sys.argv = [str(a) for a in args]
    try:
        yield
    finally:
        sys.argv = saved


def run_script(path, *args, globals_=None):
    """Runs a reference script as __main__, stdout captured; returns (module globals, stdout)."""
    out = io.StringIO()
    with argv(path, *args), contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        g = runpy.run_path(str(path), init_globals=globals_ or {}, run_name="__main__")
    return g, out.getvalue()


def llava_package(llava, tmp):
    """llava.eval.m4c_evaluator importable without the rest of LLaVA (whose __init__ loads the model code)."""
    pkg = tmp / "pkg"
    (pkg / "llava" / "eval").mkdir(parents=True)
    (pkg / "llava" / "__init__.py").write_text("")
    (pkg / "llava" / "eval" / "__init__.py").write_text("")
    llava.extract("llava/eval/m4c_evaluator.py", pkg / "llava" / "eval" / "m4c_evaluator.py")
    sys.path.insert(0, str(pkg))


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------------------------------------------
# Adversarial text
# ----------------------------------------------------------------------------------------------------------------

# Characters where Python and .NET disagree, or where normalisation is easy to get wrong.
UNICODE_BITS = [
    "\u0130", "\u03a3\u0391\u03a3", "\u039f\u0394\u039f\u03a3 \u03a3", "\u01c5", "\u00df", "\ufb01", "\u216b", "\U00010400",
    "\u0663", "\U0001d7d1", "\u0661\u066b\u0665", "\u200b", "\u00e9", "e\u0301", "\uff21\uff22", "\u1e9e", "\u212a",
    "\u00c5", "\u0130stanbul", "\u0131", "\u017ft", "\U0001f600", "\u00bd", "\u2153", "\u0e53",
]
SPACES = [" ", "\t", "\n", "\u00a0", "\x1c", "\x1f", "\u2003", "\u3000", "\u2028", "\x85", "\x0b", "\x0c", "\r\n", "  "]
CONTRACTIONS = ["dont", "don't", "isnt", "its", "it's", "im", "Im", "I'm", "wont", "cant", "can't", "whats", "youre", "yall", "ow's'at"]
NUMBER_WORDS = ["zero", "one", "two", "three", "ten", "none", "Two", "TEN", "eleven"]


def edits(rng, others):
    """The adversarial edits mutate() draws from."""
    return [
        lambda s: s, str.upper, str.title, str.lower, str.capitalize, str.swapcase,
        lambda s: s + ".", lambda s: s + "...", lambda s: s + "!", lambda s: s + "?", lambda s: "(" + s + ")",
        lambda s: '"' + s + '"', lambda s: s + ",", lambda s: "the " + s, lambda s: "a " + s, lambda s: "An " + s,
        lambda s: s.replace(" ", "-"), lambda s: s.replace(" ", " - "), lambda s: s.replace("'", ""), lambda s: s + "'s",
        lambda s: rng.choice(SPACES) + s + rng.choice(SPACES), lambda s: s.replace(" ", rng.choice(SPACES)),
        lambda s: s + "\n" + rng.choice(others), lambda s: s + " or " + rng.choice(others), lambda s: s + ", " + rng.choice(others),
        lambda s: rng.choice(UNICODE_BITS) + s, lambda s: s + rng.choice(UNICODE_BITS), lambda s: s + " " + rng.choice(UNICODE_BITS),
        lambda s: s.replace("2", "two").replace("1", "one"), lambda s: s.replace("two", "2").replace("three", "3"),
        lambda s: rng.choice(NUMBER_WORDS), lambda s: rng.choice(CONTRACTIONS), lambda s: "", lambda s: " ", lambda s: ".",
        lambda s: s + ". " + s, lambda s: s.replace(".", ""), lambda s: s + "1,000", lambda s: "3.5" + s, lambda s: s + ";",
        lambda s: s.replace("a", "\u0430"), lambda s: s + "/" + rng.choice(others), lambda s: "*" + s + "*",
        lambda s: s.replace("i", "\u0130"), lambda s: s.upper().replace("S", "\u03a3"), lambda s: s + "." * 40,
    ]


def mutate(rng, base, others, k=None):
    """One adversarial variant of base: 0-3 random edits; with k below the number of edits, exactly edit k (so every
    edit is exercised at least once per task)."""
    ops = edits(rng, others)
    if k is not None and k < len(ops):
        return ops[k](base)
    s = base
    for _ in range(rng.randint(0, 3)):
        s = rng.choice(ops)(s)
    return s


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def write_json(path, value, indent=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=indent) + "\n", encoding="utf-8")


def pick(rng, k, items):
    """items[k] for the first len(items) rows, so every hand-written case occurs; then a random one."""
    return items[k] if k < len(items) else rng.choice(items)


def answer_row(qid, prompt, text, k, **extra):
    """A line as LLaVA's model_vqa_loader.py writes it."""
    row = {"question_id": qid, "prompt": prompt, "text": text, "answer_id": f"ans{k:05d}", "model_id": "llava-v1.5-13b", "metadata": {}}
    row.update(extra)
    return row


def partial_rows(rng, rows, unknown_ids, drop=8, dup=6, unknown=True, exclude=()):
    """rows with some dropped, some repeated later with another text, and (optionally) a few unknown ids; returns
    (rows, dropped ids, duplicated ids, unknown ids). Rows at the indices in exclude are neither dropped nor repeated."""
    idx = [i for i in range(len(rows)) if i not in exclude]
    dropped = sorted(rng.sample(idx, drop))
    keep = [r for i, r in enumerate(rows) if i not in dropped]
    dups = rng.sample([r for i, r in enumerate(rows) if i not in dropped and i not in exclude], dup)
    out = list(keep)
    for d in dups:
        again = dict(d)
        again["text"] = mutate(rng, d["text"], ["yes", "no", "A", "two"])
        again["answer_id"] = d["answer_id"] + "b"
        out.insert(rng.randint(out.index(d) + 1, len(out)), again)
    if unknown:
        for u in unknown_ids:
            out.insert(rng.randint(0, len(out)), {**rows[0], "question_id": u, "text": "yes", "answer_id": f"unk{u}"})
    unk = [r["question_id"] for r in out if r["answer_id"].startswith("unk")]   # in file order
    return out, [rows[i]["question_id"] for i in dropped], [d["question_id"] for d in dups], unk


def first_names(ids, n=3):
    return [str(i) for i in ids[:n]]



# ----------------------------------------------------------------------------------------------------------------
# POPE: llava/eval/eval_pope.py
# ----------------------------------------------------------------------------------------------------------------

POPE_REPLIES = [
    "Yes", "No", "yes", "no", "NO", "YES", "Yes, there is a dog in the image.", "No, there is not.", "There is no dog.",
    "Nope", "not sure", "Yes. No.", "No. Yes", "yes,no", "No\nYes", "", " no", "no\u00a0dog", "The answer is no",
    "I do not think so", "Not", "not.", "Yes.No", "no, ", "No,there is", "nothing", "\u0130 no", "no\x1cway", "No!", "no?",
    "Yes, but not clearly", "It is not there.", "There's no cat. Yes there is.", "N0", "n o", "no\tcat", "Non", "\u0274o",
]


def build_pope(rng, refs, out, tmp):
    llava = refs["llava"]
    script = llava.extract("llava/eval/eval_pope.py", tmp / "eval_pope.py")
    objects = ["dog", "cat", "person", "car", "snowboard", "\u00e9clair", "\u0130nek", "bus", "chair", "kite"]
    labels = {}
    for cat, n in [("adversarial", 104), ("popular", 100), ("random", 97)]:
        rows = []
        for i in range(n):
            obj = rng.choice(objects)
            rows.append({"question_id": i + 1, "image": f"COCO_val2014_{rng.randint(1, 999999):012d}.jpg",
                         "text": f"Is there a {obj} in the image?", "label": rng.choice(["yes", "no"])})
        labels[cat] = rows
        write_jsonl(out / "coco" / f"coco_pope_{cat}.json", rows)
    # LLaVA's combined question file: categories interleaved, each category in its label file's order.
    order = [c for c in labels for _ in labels[c]]
    rng.shuffle(order)
    taken = {c: 0 for c in labels}
    questions = []
    for k, c in enumerate(order):
        lab = labels[c][taken[c]]
        taken[c] += 1
        questions.append({"question_id": 5000 + k * 7, "image": lab["image"],
                          "text": lab["text"] + "\nAnswer the question using a single word or phrase.", "category": c})
    write_jsonl(out / "llava_pope_test.jsonl", questions)
    answers = [answer_row(q["question_id"], q["text"], mutate(rng, rng.choice(POPE_REPLIES), POPE_REPLIES) if k >= len(POPE_REPLIES) and rng.random() < 0.5
                          else pick(rng, k, POPE_REPLIES), k) for k, q in enumerate(questions)]
    write_jsonl(out / "answers.jsonl", answers)

    def reference(answer_file):
        g, stdout = run_script(script, "--annotation-dir", out / "coco", "--question-file", out / "llava_pope_test.jsonl",
                               "--result-file", answer_file)
        metrics, cat = {}, None
        names = {"Accuracy": "accuracy", "Precision": "precision", "Recall": "recall", "F1 score": "f1", "Yes ratio": "yes_ratio"}
        for line in stdout.splitlines():
            if line.startswith("Category: "):
                cat = line[len("Category: "):].split(",")[0]
            for label, key in names.items():
                if line.startswith(label + ": "):
                    metrics[f"{key}/{cat}"] = 100 * float(line.split(": ", 1)[1])
        for key in names.values():
            metrics[key] = sum(metrics[f"{key}/{c}"] for c in labels) / len(labels)
        label_of = {}
        for c in labels:
            for q, lab in zip([q for q in questions if q["category"] == c], labels[c]):
                label_of[q["question_id"]] = lab["label"]
        items = [{"id": str(a["question_id"]), "parsed": a["text"], "score": 1.0 if a["text"] == label_of[a["question_id"]] else 0.0}
                 for a in g["answers"]]
        return metrics, items

    metrics, items = reference(out / "answers.jsonl")
    sets = [{"name": "main", "answers": "answers.jsonl", "metrics": metrics, "items": items}]
    rows, dropped, dups, unknown = partial_rows(rng, answers, [777777, 888888])
    write_jsonl(out / "answers_partial.jsonl", rows)
    qorder = [q["question_id"] for q in questions]
    sets.append({"name": "partial", "answers": "answers_partial.jsonl", "allow_partial": True,
                 "reference_refuses": "eval_pope.py pairs answers with labels by position (zip) and looks every question_id up: "
                                      "missing or repeated rows shift the pairing, an unknown id is a KeyError",
                 "strict_error_names": first_names(unknown) + first_names(sorted(dups, key=qorder.index)) + first_names(sorted(dropped, key=qorder.index)),
                 "coverage": 100.0 * (len(questions) - len(dropped)) / len(questions)})
    return {"data": "llava_pope_test.jsonl", "annotations": "coco", "reproduces": [llava.ref("llava/eval/eval_pope.py")], "sets": sets}


# ----------------------------------------------------------------------------------------------------------------
# TextVQA: llava/eval/eval_textvqa.py + m4c_evaluator.py
# ----------------------------------------------------------------------------------------------------------------

VQA_VOCAB = [
    "2", "two", "yes", "no", "coca cola", "Coca-Cola", "don't", "dont", "the dog", "dog", "3.5", "1,000", "1000",
    "st. louis", "\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2", "\u0130stanbul", "istanbul", "na\u00efve", "e\u0301", "\u00e9",
    "\u0661\u0662", "12", "left", "Left ", "unanswerable", "10:30", "a.m.", "U.S.A.", "it's", "its", "x-ray", "x ray", "ten",
    "10", "none", "0", "rock'n'roll", "can't", "cant", "100%", "$5", "5 dollars", "caf\u00e9", "CAF\u00c9", "\u01c5",
    "stra\u00dfe", "STRASSE", "\ufb01sh", "fish", "an apple", "apple", "1.5.2", "3,4", "5 , 6", "wouldnt've", "youre", "yes.",
    "nike's", "\U0001d7d1", "\u0663", "a/b", "(left)", "left-hand", "..", "twenty one", "1 000", "O'Neil", "oneil", "\u017fun",
]


def annotator_answers(rng):
    """Ten answers: all the same (no normalisation in vqaEval), a majority, or scattered."""
    kind = rng.random()
    main = rng.choice(VQA_VOCAB)
    if kind < 0.25:
        return [main] * 10
    if kind < 0.7:
        agree = rng.randint(3, 9)
        return [main] * agree + [mutate(rng, rng.choice(VQA_VOCAB), VQA_VOCAB) for _ in range(10 - agree)]
    return [mutate(rng, rng.choice(VQA_VOCAB), VQA_VOCAB) for _ in range(10)]


def vqa_prediction(rng, answers, k=None):
    if k is not None and k < len(edits(rng, VQA_VOCAB)):
        return mutate(rng, rng.choice(answers), VQA_VOCAB, k)
    r = rng.random()
    if r < 0.45:
        return mutate(rng, rng.choice(answers), VQA_VOCAB)
    if r < 0.6:
        return rng.choice(answers)
    return mutate(rng, rng.choice(VQA_VOCAB), VQA_VOCAB)


def build_textvqa(rng, refs, out, tmp):
    llava = refs["llava"]
    llava_package(llava, tmp)
    script = llava.extract("llava/eval/eval_textvqa.py", tmp / "eval_textvqa.py")
    m4c = importlib.import_module("llava.eval.m4c_evaluator")

    questions_text = ["what brand is this?", "What Is Written Here?", "what number is on the \u03a3\u0391\u03a3 shirt?",
                      "who made \u0130T?", "what is the year?", "what does the sign say?", "which team is it?", "what time is it?"]
    data, images = [], [f"{rng.getrandbits(64):016x}" for _ in range(120)]
    for i in range(300):
        image = rng.choice(images)
        q = rng.choice(questions_text) + ("" if rng.random() < 0.6 else f" ({i})")
        answers = [a[:40] for a in annotator_answers(rng)][:10]
        answers += [answers[0]] * (10 - len(answers))
        data.append({"question_id": 34000 + i, "question": q, "image_id": image, "answers": answers, "image_classes": []})
    # Questions sharing (image, lower-cased question): the script's dict keeps the last one's answers for all.
    for j in range(3):
        a, b = data[10 + j], data[200 + j]
        b["image_id"], b["question"] = a["image_id"], a["question"].upper() if a["question"].upper().lower() == a["question"].lower() else a["question"]
    keys = {}
    for d in data:
        keys[(d["image_id"], d["question"].lower())] = d
    write_json(out / "TextVQA_0.5.1_val.json", {"dataset_name": "textvqa", "dataset_type": "val", "dataset_version": "0.5.1", "data": data})

    def prompt_for(d, k):
        q = d["question"]
        variant = q.upper() if k % 5 == 0 and q.upper().lower() == q.lower() else q
        ocr = ", ".join(rng.sample(["COCA", "cola", "2019", "\u00c9T\u00c9", "exit", "Question", "Short"], 3))
        shape = k % 4
        if shape == 0:
            return f"{variant}\nReference OCR token: {ocr}\nAnswer the question using a single word or phrase."
        if shape == 1:
            return f"Reference OCR token: {ocr}\n{variant}\nAnswer the question using a single word or phrase."
        if shape == 2:
            return f"{variant}\nAnswer the question using a single word or phrase."
        return f"OCR tokens: {ocr.replace('Question', 'Q')} Question: {variant} Short answer:"

    answers = [answer_row(d["image_id"], prompt_for(d, k), vqa_prediction(rng, d["answers"], k), k) for k, d in enumerate(data)]
    write_jsonl(out / "answers.jsonl", answers)

    def reference(answer_file):
        per_item, total = [], []
        original = m4c.TextVQAAccuracyEvaluator.eval_pred_list

        def recording(self, pred_list):
            for entry in pred_list:
                per_item.append((self.answer_processor(entry["pred_answer"]), original(self, [entry])))
            total.append(original(self, pred_list))
            return total[-1]

        m4c.TextVQAAccuracyEvaluator.eval_pred_list = recording
        try:
            run_script(script, "--annotation-file", out / "TextVQA_0.5.1_val.json", "--result-file", answer_file)
        finally:
            m4c.TextVQAAccuracyEvaluator.eval_pred_list = original
        lines = [json.loads(l) for l in open(answer_file, encoding="utf-8")]
        items = [{"line": i + 1, "parsed": p, "score": s} for i, (p, s) in enumerate(per_item)]
        assert len(items) == len(lines)
        return {"vqa_accuracy": 100 * total[0]}, items

    metrics, items = reference(out / "answers.jsonl")
    sets = [{"name": "main", "answers": "answers.jsonl", "metrics": metrics, "items": items}]
    shared = {}
    for i, d in enumerate(data):
        shared.setdefault((d["image_id"], d["question"].lower()), []).append(i)
    colliding = {i for group in shared.values() if len(group) > 1 for i in group}
    rows, dropped, dups, _ = partial_rows(rng, answers, [], unknown=False, exclude=colliding)
    write_jsonl(out / "answers_partial.jsonl", rows)
    metrics, items = reference(out / "answers_partial.jsonl")
    missing = [d["question_id"] for a, d in zip(answers, data) if not any(r is a for r in rows)]
    duplicated = [d["question_id"] for a, d in zip(answers, data) if sum(1 for r in rows if r["answer_id"] in (a["answer_id"], a["answer_id"] + "b")) > 1]
    sets.append({"name": "partial", "answers": "answers_partial.jsonl", "allow_partial": True, "metrics": metrics, "items": items,
                 "strict_error_names": first_names(duplicated) + first_names(missing),
                 "coverage": 100.0 * (len(data) - len(missing)) / len(data)})
    return {"data": "TextVQA_0.5.1_val.json", "reproduces": [llava.ref("llava/eval/eval_textvqa.py", "llava/eval/m4c_evaluator.py")], "sets": sets}


# ----------------------------------------------------------------------------------------------------------------
# VQAv2: scripts/convert_vqav2_for_submission.py, then GT-Vision-Lab/VQA vqaEval.py
# ----------------------------------------------------------------------------------------------------------------

def python2_module(snapshot, rel, dest):
    """A Python 2 file made runnable: tabs expanded to 8 columns (Python 2's indentation rule), then lib2to3."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lib2to3.refactor import RefactoringTool, get_fixers_from_package
    source = "\n".join(line.expandtabs(8) for line in snapshot.read(rel).splitlines()) + "\n"
    tool = RefactoringTool(get_fixers_from_package("lib2to3.fixes"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(str(tool.refactor_string(source, rel)), encoding="utf-8")
    return dest


def build_vqav2(rng, refs, out, tmp):
    llava, vqa_repo = refs["llava"], refs["vqa"]
    llava_package(llava, tmp)
    convert = llava.extract("scripts/convert_vqav2_for_submission.py", tmp / "convert_vqav2_for_submission.py")
    vqa_py = python2_module(vqa_repo, "PythonHelperTools/vqaTools/vqa.py", tmp / "vqatools" / "vqa.py")
    eval_py = python2_module(vqa_repo, "PythonEvaluationTools/vqaEvaluation/vqaEval.py", tmp / "vqatools" / "vqaEval.py")
    VQA = load_module("vqa_ref_vqa", vqa_py).VQA
    VQAEval = load_module("vqa_ref_eval", eval_py).VQAEval

    types_ = ["yes/no", "number", "other"]
    questions, annotations = [], []
    for i in range(310):
        qid, image = 262000000 + i * 11, 100000 + rng.randint(0, 5000)
        answers = annotator_answers(rng)
        questions.append({"image_id": image, "question": rng.choice(["What is this?", "How many?", "Is it raining?", "What color?"]), "question_id": qid})
        annotations.append({"question_id": qid, "image_id": image, "question_type": rng.choice(["what is", "how many", "is the"]),
                            "answer_type": rng.choice(types_), "multiple_choice_answer": answers[0],
                            "answers": [{"answer": a, "answer_confidence": rng.choice(["yes", "maybe", "no"]), "answer_id": j + 1}
                                        for j, a in enumerate(answers)]})
    meta = {"info": {"description": "differential test"}, "license": {"name": "test"}, "data_subtype": "val2014"}
    write_json(out / "v2_OpenEnded_mscoco_val2014_questions.json", {**meta, "task_type": "Open-Ended", "data_type": "mscoco", "questions": questions})
    write_json(out / "v2_mscoco_val2014_annotations.json", {**meta, "data_type": "mscoco", "annotations": annotations})
    answers = [answer_row(q["question_id"], q["question"] + "\nAnswer the question using a single word or phrase.",
                          vqa_prediction(rng, [a["answer"] for a in ann["answers"]], k), k)
               for k, (q, ann) in enumerate(zip(questions, annotations))]
    write_jsonl(out / "answers.jsonl", answers)
    ann_by_id = {a["question_id"]: a for a in annotations}

    def reference(answer_file):
        d = tmp / "vqav2run"
        if d.exists():
            shutil.rmtree(d)
        write_jsonl(d / "llava_vqav2_mscoco_test2015.jsonl",
                    [{"question_id": q["question_id"], "image": f"COCO_val2014_{q['image_id']:012d}.jpg", "text": q["question"]} for q in questions])
        (d / "answers" / "split" / "ckpt").mkdir(parents=True)
        shutil.copy(answer_file, d / "answers" / "split" / "ckpt" / "merge.jsonl")
        run_script(convert, "--dir", d, "--ckpt", "ckpt", "--split", "split")
        upload = d / "answers_upload" / "split" / "ckpt.json"
        with contextlib.redirect_stdout(io.StringIO()):
            vqa = VQA(str(out / "v2_mscoco_val2014_annotations.json"), str(out / "v2_OpenEnded_mscoco_val2014_questions.json"))
            res = vqa.loadRes(str(upload), str(out / "v2_OpenEnded_mscoco_val2014_questions.json"))
            ev = VQAEval(vqa, res, n=12)
            ev.evaluate()
        converted = {a["question_id"]: a["answer"] for a in json.load(open(upload, encoding="utf-8"))}
        metrics = {"vqa_accuracy": ev.accuracy["overall"]}
        for t, v in ev.accuracy["perAnswerType"].items():
            metrics[f"vqa_accuracy/{t}"] = v
        items = []
        for q in questions:
            qid = q["question_id"]
            gts = [a["answer"].replace("\n", " ").replace("\t", " ").strip() for a in ann_by_id[qid]["answers"]]
            res_ans = converted[qid].replace("\n", " ").replace("\t", " ").strip()
            if len(set(gts)) > 1:
                res_ans = ev.processDigitArticle(ev.processPunctuation(res_ans))
            items.append({"id": str(qid), "parsed": res_ans, "score": ev.evalQA[qid] / 100})
        return metrics, items

    metrics, items = reference(out / "answers.jsonl")
    sets = [{"name": "main", "answers": "answers.jsonl", "metrics": metrics, "items": items}]
    rows, dropped, dups, unknown = partial_rows(rng, answers, [999999991, 999999992, 999999993, 999999994])
    write_jsonl(out / "answers_partial.jsonl", rows)
    metrics, items = reference(out / "answers_partial.jsonl")
    qorder = [q["question_id"] for q in questions]
    sets.append({"name": "partial", "answers": "answers_partial.jsonl", "allow_partial": True, "metrics": metrics, "items": items,
                 "strict_error_names": first_names(unknown) + first_names(sorted(dups, key=qorder.index)) + first_names(sorted(dropped, key=qorder.index)),
                 "coverage": 100.0 * (len(questions) - len(dropped)) / len(questions)})
    return {"data": "v2_OpenEnded_mscoco_val2014_questions.json", "annotations": "v2_mscoco_val2014_annotations.json",
            "reproduces": [llava.ref("scripts/convert_vqav2_for_submission.py", "llava/eval/m4c_evaluator.py"),
                           vqa_repo.ref("PythonEvaluationTools/vqaEvaluation/vqaEval.py", "PythonHelperTools/vqaTools/vqa.py")],
            "sets": sets}


# ----------------------------------------------------------------------------------------------------------------
# VizWiz: scripts/convert_vizwiz_for_submission.py, then the VizWiz VQAEval (TRI-ML/vlm-evaluation)
# ----------------------------------------------------------------------------------------------------------------

def build_vizwiz(rng, refs, out, tmp):
    llava, tri = refs["llava"], refs["vlm_evaluation"]
    llava_package(llava, tmp)
    convert = llava.extract("scripts/convert_vizwiz_for_submission.py", tmp / "convert_vizwiz_for_submission.py")
    # sklearn is imported at the top of the evaluation but used only by its unanswerability metrics, not run here.
    sklearn = types.ModuleType("sklearn")
    sklearn.metrics = types.ModuleType("sklearn.metrics")
    sklearn.metrics.average_precision_score = sklearn.metrics.f1_score = None
    sys.modules["sklearn"], sys.modules["sklearn.metrics"] = sklearn, sklearn.metrics
    VQAEval = load_module("vizwiz_ref_eval", tri.extract("vlm_eval/util/evaluation/vizwiz/eval.py", tmp / "vizwiz_eval.py")).VQAEval

    vocab = VQA_VOCAB + ["unanswerable", "Unanswerable", "unsuitable", "don`t", "don\u2019t", "isn`t"]
    rows = []
    for i in range(305):
        answers = annotator_answers(rng) if rng.random() < 0.8 else ["unanswerable"] * rng.randint(4, 10)
        answers += [rng.choice(vocab) for _ in range(10 - len(answers))]
        rows.append({"image": f"VizWiz_val_{i:08d}.jpg", "question": rng.choice(["What is this?", "What color is this shirt?"]),
                     "answers": [{"answer": a, "answer_confidence": rng.choice(["yes", "maybe", "no"])} for a in answers],
                     "answer_type": "unanswerable" if answers.count("unanswerable") >= 5 else rng.choice(["other", "yes/no", "number"]),
                     "answerable": 0 if answers.count("unanswerable") >= 5 else 1})
    write_json(out / "val.json", rows)
    answers = [answer_row(r["image"], r["question"], vqa_prediction(rng, [a["answer"] for a in r["answers"]], k) if k < 60 or rng.random() < 0.85
                          else rng.choice(["unanswerable", "Unanswerable.", "I cannot tell", "dont", "cant", "wheres", "whove"]), k)
               for k, r in enumerate(rows)]
    write_jsonl(out / "answers.jsonl", answers)

    def reference(answer_file):
        d = tmp / "vizwizrun"
        if d.exists():
            shutil.rmtree(d)
        write_jsonl(d / "llava_val.jsonl", [{"question_id": r["image"], "image": r["image"], "text": r["question"]} for r in rows])
        run_script(convert, "--annotation-file", d / "llava_val.jsonl", "--result-file", answer_file, "--result-upload-file", d / "upload.json")
        upload = {a["image"]: a for a in json.load(open(d / "upload.json", encoding="utf-8"))}
        gts = {r["image"]: dict(r) for r in rows}

        def evaluate(images):
            ev = VQAEval({i: gts[i] for i in images}, {i: upload[i] for i in images}, n=12)
            with contextlib.redirect_stdout(io.StringIO()):
                ev.evaluate()
            return ev

        ev = evaluate([r["image"] for r in rows])
        metrics = {"vqa_accuracy": ev.accuracy["overall"]}
        for t in sorted({r["answer_type"] for r in rows}):
            metrics[f"vqa_accuracy/{t}"] = evaluate([r["image"] for r in rows if r["answer_type"] == t]).accuracy["overall"]
        items = [{"id": r["image"], "score": ev.evalQA[r["image"]] / 100,
                  "parsed": ev.processDigitArticle(ev.processPunctuation(upload[r["image"]]["answer"].replace("\n", " ").replace("\t", " ").strip()))}
                 for r in rows]
        return metrics, items

    metrics, items = reference(out / "answers.jsonl")
    sets = [{"name": "main", "answers": "answers.jsonl", "metrics": metrics, "items": items}]
    partial, _, dups, unknown = partial_rows(rng, answers, ["VizWiz_val_99999998.jpg", "VizWiz_val_99999999.jpg"], drop=0)
    write_jsonl(out / "answers_partial.jsonl", partial)
    metrics, items = reference(out / "answers_partial.jsonl")
    order = [r["image"] for r in rows]
    sets.append({"name": "partial", "answers": "answers_partial.jsonl", "allow_partial": True, "metrics": metrics, "items": items,
                 "strict_error_names": first_names(unknown) + first_names(sorted(dups, key=order.index)), "coverage": 100.0})
    missing, dropped, _, _ = partial_rows(rng, answers, [], drop=5, dup=0, unknown=False)
    write_jsonl(out / "answers_missing.jsonl", missing)
    sets.append({"name": "missing", "answers": "answers_missing.jsonl", "allow_partial": True,
                 "reference_refuses": "convert_vizwiz_for_submission.py asserts that every question has an answer",
                 "strict_error_names": first_names(sorted(dropped, key=order.index)), "coverage": 100.0 * (len(rows) - 5) / len(rows)})
    return {"data": "val.json",
            "reproduces": [llava.ref("scripts/convert_vizwiz_for_submission.py", "llava/eval/m4c_evaluator.py"),
                           tri.ref("vlm_eval/util/evaluation/vizwiz/eval.py")],
            "sets": sets}


# ----------------------------------------------------------------------------------------------------------------
# GQA: scripts/convert_gqa_for_eval.py, then GQA's eval.py (testdev version)
# ----------------------------------------------------------------------------------------------------------------

GQA_ANSWERS = ["yes", "no", "left", "right", "red", "table", "man", "t-shirt", "caf\u00e9", "\u00e9clair", "\u0130stanbul", "2",
               "dark brown", "the cat", "st. louis", "\u03c3\u03b1\u03c2", "straße", "1.5"]


def build_gqa(rng, refs, out, tmp):
    llava, gqa = refs["llava"], refs["gqa_eval"]
    convert = llava.extract("scripts/convert_gqa_for_eval.py", tmp / "convert_gqa_for_eval.py")
    script = gqa.extract("playground/data/eval/gqa/data/eval/eval.py", tmp / "gqarun" / "eval" / "eval.py")
    questions = {}
    for i in range(320):
        structural = rng.choice(["query", "verify", "logical", "choose", "compare"])
        answer = rng.choice(["yes", "no"]) if structural in ("verify", "logical", "compare") else rng.choice(GQA_ANSWERS)
        questions[f"2{i:07d}"] = {
            "imageId": f"n{rng.randint(1, 99999)}", "question": rng.choice(["Is the cup on the left?", "What color is the car?", "Who is wearing a hat?"]),
            "answer": answer, "fullAnswer": answer, "isBalanced": i % 29 != 5,
            "types": {"structural": structural, "semantic": rng.choice(["attr", "rel", "obj", "cat", "global"]), "detailed": rng.choice(["color", "place"])},
            "groups": {"global": rng.choice(["color", "place", None]) or "thing", "local": "01-x"},
            "semantic": [{"operation": "select", "argument": "cup", "dependencies": []}, {"operation": "query", "argument": "name", "dependencies": [0]}],
            "entailed": [], "equivalent": [], "annotations": {"question": {}, "answer": {}, "fullAnswer": {}}}
    write_json(out / "testdev_balanced_questions.json", questions)
    ids = list(questions)
    answers = []
    for k, qid in enumerate(ids):
        q = questions[qid]
        if not q["isBalanced"] and k % 2 == 0:
            continue   # questions outside the balanced set need no answer
        text = mutate(rng, q["answer"], GQA_ANSWERS, k) if k < 60 or rng.random() < 0.6 else rng.choice([q["answer"], q["answer"] + ".", q["answer"].capitalize() + "."])
        answers.append(answer_row(qid, q["question"] + "\nAnswer the question using a single word or phrase.", text, k))
    write_jsonl(out / "answers.jsonl", answers)

    def reference(answer_file):
        d = tmp / "gqarun"
        shutil.copy(out / "testdev_balanced_questions.json", d / "testdev_balanced_questions.json")
        run_script(convert, "--src", answer_file, "--dst", d / "testdev_balanced_predictions.json")
        os.chdir(d)
        g, _ = run_script(script, "--tier", "testdev_balanced")
        scores, predictions = g["scores"], g["predictions"]
        metrics = {"accuracy": scores["accuracy"], "accuracy/binary": scores["binary"], "accuracy/open": scores["open"]}
        for t, (v, _) in scores["accuracyPerStructuralType"].items():
            metrics[f"accuracy/structural/{t}"] = v
        for t, (v, _) in scores["accuracyPerSemanticType"].items():
            metrics[f"accuracy/semantic/{t}"] = v
        items = [{"id": qid, "parsed": predictions[qid], "score": g["toScore"](predictions[qid] == q["answer"])}
                 for qid, q in questions.items() if q["isBalanced"]]
        return metrics, items

    metrics, items = reference(out / "answers.jsonl")
    sets = [{"name": "main", "answers": "answers.jsonl", "metrics": metrics, "items": items}]
    balanced = [i for i, a in enumerate(answers) if questions[str(a["question_id"])]["isBalanced"]]
    partial, _, dups, unknown = partial_rows(rng, answers, ["29999998", "29999999"], drop=0,
                                             exclude=[i for i in range(len(answers)) if i not in balanced])
    write_jsonl(out / "answers_partial.jsonl", partial)
    metrics, items = reference(out / "answers_partial.jsonl")
    sets.append({"name": "partial", "answers": "answers_partial.jsonl", "allow_partial": True, "metrics": metrics, "items": items,
                 "strict_error_names": first_names(unknown) + first_names(sorted(dups, key=ids.index)), "coverage": 100.0})
    missing, dropped, _, _ = partial_rows(rng, answers, [], drop=4, dup=0, unknown=False, exclude=[i for i in range(len(answers)) if i not in balanced])
    write_jsonl(out / "answers_missing.jsonl", missing)
    n_balanced = sum(1 for q in questions.values() if q["isBalanced"])
    sets.append({"name": "missing", "answers": "answers_missing.jsonl", "allow_partial": True,
                 "reference_refuses": "GQA's eval.py raises 'missing predictions' when a balanced question has no answer",
                 "strict_error_names": first_names(sorted(dropped, key=ids.index)), "coverage": 100.0 * (n_balanced - 4) / n_balanced})
    return {"data": "testdev_balanced_questions.json",
            "reproduces": [llava.ref("scripts/convert_gqa_for_eval.py"), gqa.ref("playground/data/eval/gqa/data/eval/eval.py")],
            "sets": sets}


# ----------------------------------------------------------------------------------------------------------------
# ScienceQA: llava/eval/eval_science_qa.py
# ----------------------------------------------------------------------------------------------------------------

SQA_REPLIES = [
    "A", "B", "C", "D", "E", "F", " A", "A ", "A.", "A. ", "A. cat", "a", "(A)", "A)", "The answer is A.", "The answer is B",
    "The answer is C!", "The answer is AB", "The answer is A. The answer is B.", "The answer is E.", "The answer is F.",
    "The answer is A\n", "The answer is A\nThe answer is B.", "The answer is Z.", "\u0130", "A\n", "The answer is a.",
    "B. C. ", "The answer is A.The answer is B.", "the answer is B.", "The answer is  B.", "Answer: B", "B\nBecause",
    "Because it is hot.\nThe answer is C.", "The answer is \u0391.", "The answer is B\U0001f600", "AB", "", ".", "C.\n",
    "The answer is A.\nThe answer is A.", "The answer is D. ", "E. none", "A.\tB", "The answer is B\u0301.",
]


def build_scienceqa(rng, refs, out, tmp):
    llava = refs["llava"]
    script = llava.extract("llava/eval/eval_science_qa.py", tmp / "eval_science_qa.py")
    problems, splits = {}, {"test": [], "train": []}
    for i in range(360):
        pid = str(1 + i * 3)
        n_choices = rng.randint(2, 5)
        split = "train" if i % 12 == 7 else "test"
        problems[pid] = {"question": rng.choice(["Which is a mammal?", "Which is hot?", "Which word comes first?"]),
                         "choices": [rng.choice(["cat", "frog", "fire", "ice", "\u00e9t\u00e9", "A", "B"]) for _ in range(n_choices)],
                         "answer": rng.randrange(n_choices), "hint": rng.choice(["", "Think.", "Look at the picture."]),
                         "image": "image.png" if rng.random() < 0.6 else None, "split": split, "subject": rng.choice(["natural science", "language science"])}
        splits[split].append(pid)
    write_json(out / "problems.json", problems)
    write_json(out / "pid_splits.json", splits)
    answers = []
    for k, pid in enumerate(splits["test"]):
        p = problems[pid]
        image = p["image"] is not None
        if rng.random() < 0.04:
            image = not image   # the script counts the prompt's <image>, not the problem's image
        prompt = ("<image>\n" if image else "") + f"Context: {p['hint'] or 'N/A'}\nQuestion: {p['question']}\nOptions: ...\n" \
                                                 "Answer with the option's letter from the given choices directly."
        reply = pick(rng, k, SQA_REPLIES) if k < len(SQA_REPLIES) or rng.random() < 0.6 else rng.choice(
            ["ABCDE"[p["answer"]], f"The answer is {'ABCDE'[p['answer']]}.", f"{'ABCDE'[p['answer']]}. x", mutate(rng, "ABCDE"[p["answer"]], SQA_REPLIES)])
        answers.append(answer_row(pid, prompt, reply, k))
    write_jsonl(out / "answers.jsonl", answers)

    def reference(answer_file):
        d = tmp / "sqarun"
        d.mkdir(exist_ok=True)
        shutil.copy(out / "problems.json", d / "problems.json")
        shutil.copy(out / "pid_splits.json", d / "pid_splits.json")
        g, _ = run_script(script, "--base-dir", d, "--result-file", answer_file, "--output-file", d / "out.json", "--output-result", d / "res.json")
        metrics = {"accuracy": g["multimodal_correct"] / g["multimodal_total"] * 100, "accuracy_all": g["correct"] / g["total"] * 100}
        items = [{"id": a["question_id"], "parsed": a["parsed_ans"], "score": 1.0 if ok else 0.0, "multimodal": a["is_multimodal"]}
                 for ok, group in ((True, g["results"]["correct"]), (False, g["results"]["incorrect"])) for a in group]
        return metrics, sorted(items, key=lambda x: int(x["id"]))

    metrics, items = reference(out / "answers.jsonl")
    sets = [{"name": "main", "answers": "answers.jsonl", "metrics": metrics, "items": items}]
    partial, dropped, dups, unknown = partial_rows(rng, answers, ["999991", "999992"])
    write_jsonl(out / "answers_partial.jsonl", partial)
    metrics, items = reference(out / "answers_partial.jsonl")
    order = splits["test"]
    required = [pid for pid in order if problems[pid]["image"] is not None]
    missing_required = [pid for pid in sorted(dropped, key=order.index) if pid in required]
    sets.append({"name": "partial", "answers": "answers_partial.jsonl", "allow_partial": True, "metrics": metrics, "items": items,
                 "strict_error_names": first_names(unknown) + first_names(sorted(dups, key=order.index)) + first_names(missing_required),
                 "coverage": 100.0 * (len(required) - len(missing_required)) / len(required)})
    return {"data": "problems.json", "reproduces": [llava.ref("llava/eval/eval_science_qa.py")], "sets": sets}


# ----------------------------------------------------------------------------------------------------------------
# MMBench: scripts/convert_mmbench_for_submission.py, then VLMEvalKit's circular evaluation (exact matching)
# ----------------------------------------------------------------------------------------------------------------

BMP_BASE64 = ("Qk1GAAAAAAAAADYAAAAoAAAAAgAAAAIAAAABABgAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAgICAgICAAACAgICAgIAAAA==")

MMB_REPLIES = [
    "A", "B", "C", "D", "E", "Z", "a", "b", "(A)", "A.", "B)", "[C]", "Answer: D", "The answer is B.", "the correct answer is **C**",
    "ANSWER IS d", "answer\u00a0is\u00a0b", "answer \u0131s C", "an\u017fwer is A", "The answer is B because A is wrong.",
    "A or B", "A B", "I think it is A, not B", "B is wrong, the answer is C", "cat", "a cat", "the dog", "red", "blue", "nothing",
    "Cannot determine the answer", "Failed to obtain answer via API", "Sorry, I can't help with images of people yet.", "",
    "A A", "It is option C. C is the best.", "one two three four five A", "A one two three four five", "*B*", "B.\nC",
    "\u0130", "Option\u2003B", "B\u3000", "the answer is E", "C: dog", "D. none of these", "no idea", "\u00c9t\u00e9",
    # several letters, so only the "answer is X" pattern can decide, under Python's IGNORECASE (ſ ~ s, İ/ı ~ i) and \s
    "The an\u017fwer is B, not A or C.", "correct answer \u0130S A since B and C fail", "answer\u2003is\u3000**B** rather than A or C",
    "ANSWER \u0131s A, B and C are wrong", "answer is\u00a0B or maybe A or C",
]


def vlmevalkit_package(vlm, root):
    """VLMEvalKit's matching and multiple-choice code, with stand-ins for the helpers they import."""
    pkg = root / "vlmeval"
    for sub in ["", "smp", "utils", "dataset", "dataset/utils"]:
        (pkg / sub).mkdir(parents=True, exist_ok=True)
        (pkg / sub / "__init__.py").write_text("")
    vlm.extract("vlmeval/utils/matching_util.py", pkg / "utils" / "matching_util.py")
    vlm.extract("vlmeval/dataset/utils/multiple_choice.py", pkg / "dataset" / "utils" / "multiple_choice.py")
    (pkg / "smp" / "log.py").write_text("import logging\ndef get_logger(name):\n    return logging.getLogger(name)\n")
    (pkg / "smp" / "vlm.py").write_text("def build_option_str(option_dict):\n    raise NotImplementedError('only used to prompt an LLM judge')\n")
    (pkg / "smp" / "__init__.py").write_text(
        "import copy\nimport numpy as np\nfrom .log import get_logger\n_store = {}\n"
        "def dump(data, path, **kw):\n    _store[str(path)] = copy.deepcopy(data)\n"
        "def load(path, **kw):\n    return copy.deepcopy(_store[str(path)])\n"
        "def get_pred_file_format():\n    return 'pkl'\n"
        "def timestr(*a, **k):\n    return 'now'\n"
        "def istype(x, t):\n    return isinstance(x, (int, np.integer)) if t is int else isinstance(x, t)\n"
        "def cn_string(s):\n    return False\n"
        "def d2df(d):\n    raise NotImplementedError\n")
    (pkg / "utils" / "__init__.py").write_text(
        "from .matching_util import can_infer, can_infer_lego\n"
        "def track_progress_rich(*a, **k):\n    raise NotImplementedError('only used with an LLM judge')\n")
    sys.path.insert(0, str(root))
    return importlib.import_module("vlmeval.dataset.utils.multiple_choice")


def build_mmbench(rng, refs, out, tmp):
    import pandas as pd
    llava, vlm = refs["llava"], refs["vlmevalkit"]
    convert = llava.extract("scripts/convert_mmbench_for_submission.py", tmp / "convert_mmbench_for_submission.py")
    mc = vlmevalkit_package(vlm, tmp / "vlm")
    import logging
    logging.disable(logging.WARNING)
    texts = ["cat", "dog", "bird", "red", "blue", "1", "2", "\u00e9t\u00e9", "CAT", "none of these", "a", "the dog", "Dog",
             "\u0130stanbul", "istanbul", "\u03c3\u03bf\u03c6\u03af\u03b1", "caf\u00e9 au lait", " padded ", "x" * 30, "B", "no"]
    lines = ["index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\tl2-category\timage\tsource\tcomment"]
    rows = []
    for base in range(95):
        k = rng.choice([2, 3, 4, 4])
        options = rng.sample(texts, k)
        answer = rng.randrange(k)
        question = rng.choice(["Which animal is shown?", "What colour is it?", "Which is \u03a3\u039f\u03a6\u0399\u0391?"])
        hint = rng.choice(["nan", "Look closely.", ""])
        cat, l2 = rng.choice([("animals", "perception"), ("colors", "perception"), ("words", "reasoning")])
        for r in range(k):
            rotated = options[r:] + options[:r]
            letter = "ABCD"[(answer - r) % k]
            index = base + r * 1_000_000
            cells = rotated + ["nan"] * (4 - k)
            image = BMP_BASE64 if r == 0 else str(base)
            lines.append("\t".join([str(index), question, hint, *cells, letter, cat, l2, image, "src", "nan"]))
            rows.append({"index": index, "question": question, "options": rotated, "answer": letter})
    (out / "mmbench_dev.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def excel_safe(s):
        # openpyxl cannot store control characters and writes a leading '=' as a formula.
        s = "".join(c for c in s if c in "\t\n\r" or ord(c) >= 32)
        return "'" + s if s.startswith("=") else s

    answers = []
    for k, row in enumerate(rows):
        letter = row["answer"]
        option = row["options"]["ABCD".index(letter)]
        right = rng.choice([letter, f"{letter}.", f"({letter})", f"The answer is {letter}.", option, f"{letter}. {option}", f"{letter}\n",
                            option.replace("i", "\u0130"), option.upper()])
        r = rng.random()
        text = MMB_REPLIES[k] if k < len(MMB_REPLIES) else right if r < 0.6 else mutate(rng, right, MMB_REPLIES) if r < 0.75 else rng.choice(MMB_REPLIES)
        answers.append(answer_row(row["index"], row["question"], excel_safe(text), k,
                                  round_id=0, options=row["options"], option_char=list("ABCD"[:len(row["options"])])))
    write_jsonl(out / "answers.jsonl", answers)

    def reference(answer_file):
        d = tmp / "mmbrun"
        if d.exists():
            shutil.rmtree(d)
        (d / "answers").mkdir(parents=True)
        (d / "upload").mkdir()
        shutil.copy(answer_file, d / "answers" / "exp.jsonl")
        run_script(convert, "--annotation-file", out / "mmbench_dev.tsv", "--result-dir", d / "answers", "--upload-dir", d / "upload", "--experiment", "exp")
        meta = pd.read_table(out / "mmbench_dev.tsv")
        data = pd.read_excel(d / "upload" / "exp.xlsx")
        # The evaluation server joins the upload with its own copy of the TSV: the categories come from there.
        data = data.merge(meta[["index", "category", "l2-category"]], on="index", how="left")
        # ImageMCQDataset.evaluate_heuristic's preparation of the prediction file.
        data["index"] = [int(x) for x in data["index"]]
        data = data.sort_values(by="index")
        data["prediction"] = [str(x) for x in data["prediction"]]
        for key in list(data.keys()):
            data[key.lower() if key not in list("ABCDEFGHIJKLMNOPQRSTUVWXYZ") else key] = data.pop(key)
        prefetched = {int(row["index"]): mc.prefetch_answer(row) for _, row in data.iterrows()}
        with contextlib.redirect_stdout(io.StringIO()):
            main = mc.mcq_circular_eval(None, data.copy(), meta, 1, str(d / "result.pkl"), "MMBench_DEV_EN")
        acc = mc.report_acc(main.copy())
        metrics = {"accuracy": 100 * float(acc["Overall"][0])}
        for cat in sorted(set(meta["category"])):
            metrics[f"category_accuracy/{cat}"] = 100 * float(acc[cat][0])
        for l2 in sorted(set(meta["l2-category"])):
            metrics[f"category_accuracy/l2/{l2}"] = 100 * float(acc[l2][0])
        hits = {int(i): int(h) for i, h in zip(main["index"], main["hit"])}
        answer_of = {r["index"]: r["answer"] for r in rows}
        items = [{"id": str(r["index"]), "parsed": prefetched[r["index"]] or None,
                  "score": 1.0 if prefetched[r["index"]] == answer_of[r["index"]] else 0.0} for r in rows]
        items += [{"group": str(g), "hit": float(h)} for g, h in hits.items()]
        return metrics, items

    metrics, items = reference(out / "answers.jsonl")
    sets = [{"name": "main", "answers": "answers.jsonl", "metrics": metrics, "items": items}]
    partial, dropped, dups, unknown = partial_rows(rng, answers, [4_999_999, 999])
    partial = [{**r, "text": excel_safe(r["text"])} for r in partial]
    write_jsonl(out / "answers_partial.jsonl", partial)
    metrics, items = reference(out / "answers_partial.jsonl")
    order = [r["index"] for r in rows]
    sets.append({"name": "partial", "answers": "answers_partial.jsonl", "allow_partial": True, "metrics": metrics, "items": items,
                 "strict_error_names": first_names(unknown) + first_names(sorted(dups, key=order.index)) + first_names(sorted(dropped, key=order.index)),
                 "coverage": 100.0 * (len(rows) - len(dropped)) / len(rows)})
    return {"data": "mmbench_dev.tsv",
            "reproduces": [llava.ref("scripts/convert_mmbench_for_submission.py"),
                           vlm.ref("vlmeval/utils/matching_util.py", "vlmeval/dataset/utils/multiple_choice.py")],
            "sets": sets}


# ----------------------------------------------------------------------------------------------------------------
# Judged tasks: a fake OpenAI whose reply is a fixed function of the request
# ----------------------------------------------------------------------------------------------------------------

class FakeJudge:
    """Replies chosen by a hash of (content, temperature) from a fixed list; every exchange is recorded for judge.json."""

    def __init__(self, replies):
        self.replies = replies
        self.log = {}

    def reply(self, messages, temperature):
        content = messages[-1]["content"]
        key = hashlib.sha256(f"{content}\x00{temperature!r}".encode("utf-8")).hexdigest()
        text = self.replies[int(key, 16) % len(self.replies)]
        self.log[(hashlib.sha256(content.encode("utf-8")).hexdigest(), float(temperature))] = text
        return text

    def dump(self, path):
        write_json(path, [{"content_sha256": c, "temperature": t, "reply": r} for (c, t), r in sorted(self.log.items())])


MMVET_REPLIES = ["0.0", "1.0", "0.5", "0.3", " 0.7", "0.4 ", "1.5", "abc", "0.6\n", "\u0660.\u0665", "1_0", "0.9 because", "-0.0",
                 "+.5", "\u20000.2", "0.", ".8", "1e-1", "2", "0,5", "", "inf", "-0.1", "0x1", "0_5", "1.0\tok", "0.1", "0.8", "0.2"]


def build_mmvet(rng, refs, out, tmp):
    mmvet, llava = refs["mmvet"], refs["llava"]
    script = mmvet.extract("mm-vet_evaluator.py", tmp / "mm-vet_evaluator.py")
    convert = llava.extract("scripts/convert_mmvet_for_eval.py", tmp / "convert_mmvet_for_eval.py")
    judge = FakeJudge(MMVET_REPLIES)
    openai = types.ModuleType("openai")
    openai._exceptions = types.ModuleType("openai._exceptions")
    openai._exceptions.RateLimitError = type("RateLimitError", (Exception,), {})

    class Client:
        def __init__(self, api_key=None):
            self.chat = types.SimpleNamespace(completions=types.SimpleNamespace(create=self.create))

        @staticmethod
        def create(model, max_tokens, temperature, messages):
            assert max_tokens == 3
            text = judge.reply(messages, temperature)
            return types.SimpleNamespace(model=model, choices=[types.SimpleNamespace(message=types.SimpleNamespace(content=text))])

    openai.OpenAI = Client
    sys.modules["openai"], sys.modules["openai._exceptions"] = openai, openai._exceptions

    caps = ["rec", "ocr", "know", "gen", "spat", "math"]
    data = {}
    for i in range(300):
        answer = rng.choice(["-1 <AND> -5", "cat<OR>dog", "Paris", "\u0130stanbul", "3.5", "a red car", "yes <OR> no", "ΣΑΣ"])
        data[f"v1_{i}"] = {"imagename": f"v1_{i}.png", "capability": rng.sample(caps, rng.randint(1, 3)),
                           "question": rng.choice(["What is x in the equation?", "What is shown?", "Where is this?"]), "answer": answer}
    write_json(out / "mm-vet.json", data)
    answers = [answer_row(i, d["question"], mutate(rng, d["answer"].replace("<AND>", "and").replace("<OR>", "or"), ["dog", "1", "no"]), i)
               for i, d in enumerate(data.values())]
    write_jsonl(out / "answers.jsonl", answers)

    def reference(answer_file):
        d = tmp / "mmvetrun"
        if d.exists():
            shutil.rmtree(d)
        (d / "results").mkdir(parents=True)
        shutil.copy(out / "mm-vet.json", d / "mm-vet.json")
        run_script(convert, "--src", answer_file, "--dst", d / "results" / "model.json")
        g, _ = run_script(script, "--mmvet_path", d, "--result_file", d / "results" / "model.json", "--result_path", d / "results",
                          "--decimal_places", "12")
        row = g["df"].loc["model"]
        metrics = {"score": float(row["total"])}
        for cap in caps:
            metrics[f"capability_score/{cap}"] = float(row[cap])
        grades = json.load(open(g["grade_file"], encoding="utf-8"))
        items = [{"id": k, "parsed": v["content"][0], "score": v["score"][0]} for k, v in grades.items()]
        return metrics, items

    metrics, items = reference(out / "answers.jsonl")
    sets = [{"name": "main", "answers": "answers.jsonl", "metrics": metrics, "items": items, "judge": "judge.json"}]
    partial, _, dups, unknown = partial_rows(rng, answers, [9001, 9002], drop=0)
    write_jsonl(out / "answers_partial.jsonl", partial)
    metrics, items = reference(out / "answers_partial.jsonl")
    order = [a["question_id"] for a in answers]
    sets.append({"name": "partial", "answers": "answers_partial.jsonl", "allow_partial": True, "metrics": metrics, "items": items,
                 "judge": "judge.json", "strict_error_names": first_names(unknown) + ["v1_" + x for x in first_names(sorted(dups, key=order.index))],
                 "coverage": 100.0})
    judge.dump(out / "judge.json")
    return {"data": "mm-vet.json", "reproduces": [mmvet.ref("mm-vet_evaluator.py"), llava.ref("scripts/convert_mmvet_for_eval.py")], "sets": sets}


LLAVA_BENCH_REPLIES = ["8 7\nAssistant 1 is better.", "8,7", "8, 7", "7.5 9", "Assistant 1: 8", "9 10", " 8 7", "\u0668 \u0667", "1e1 5",
                       "10 10", "6 6\n", "8\t7", "7 8 9", "", "3 4,", "5 6", "9 8\n\nBoth are good.", "7 7", "4.5 6.5", "10 9", "2 3"]


def build_llava_bench(rng, refs, out, tmp):
    llava = refs["llava"]
    review = llava.extract("llava/eval/eval_gpt_review_bench.py", tmp / "eval_gpt_review_bench.py")
    summarize = llava.extract("llava/eval/summarize_gpt_review.py", tmp / "summarize_gpt_review.py")
    rule = llava.extract("llava/eval/table/rule.json", tmp / "rule.json")
    judge = FakeJudge(LLAVA_BENCH_REPLIES)
    openai = types.ModuleType("openai")
    openai.error = types.ModuleType("openai.error")
    openai.error.RateLimitError = type("RateLimitError", (Exception,), {})

    class ChatCompletion:
        @staticmethod
        def create(model, messages, temperature, max_tokens):
            assert messages[0]["content"] == "You are a helpful and precise assistant for checking the quality of the answer."
            return {"choices": [{"message": {"content": judge.reply(messages, temperature)}}]}

    openai.ChatCompletion = ChatCompletion
    sys.modules["openai"], sys.modules["openai.error"] = openai, openai.error

    images = [f"{i:03d}.jpg" for i in range(24)]
    contexts = [{"id": img, "image": img, "caption": rng.choice([["A dog.", "On grass."], "A street at night.", ["\u03a3\u0391\u03a3 sign"]])} for img in images]
    questions, refs_answers, answers = [], [], []
    for i in range(300):
        img = rng.choice(images)
        questions.append({"question_id": i, "image": img, "text": rng.choice(["What is shown?", "Describe the image in detail.", "Why is it funny?"]),
                          "category": rng.choice(["conv", "detail", "complex"])})
        refs_answers.append({"question_id": i, "text": rng.choice(["A dog on grass.", "A busy street.", "The sign says hello."]), "answer_id": f"g{i}"})
        answers.append(answer_row(i, questions[-1]["text"], mutate(rng, refs_answers[-1]["text"], ["cat", "night"]), i))
    write_jsonl(out / "questions.jsonl", questions)
    write_jsonl(out / "context.jsonl", contexts)
    write_jsonl(out / "answers_gpt4.jsonl", refs_answers)
    write_jsonl(out / "answers.jsonl", answers)

    reviews = tmp / "reviews.jsonl"
    run_script(review, "-q", out / "questions.jsonl", "-c", out / "context.jsonl", "-r", rule, "-a", out / "answers_gpt4.jsonl",
               out / "answers.jsonl", "-o", reviews)

    def unrounded_print_round(x, ndigits=None):
        # summarize_gpt_review.py rounds the means to 3 decimals (kept) and the printed figures to 1 (dropped here).
        return x if ndigits == 1 else round(x, ndigits)

    _, stdout = run_script(summarize, "-f", reviews, globals_={"round": unrounded_print_round})
    metrics = {}
    for line in stdout.splitlines():
        parts = line.split(" ")
        if len(parts) == 4 and parts[0] in ("all", "llava_bench_conv", "llava_bench_detail", "llava_bench_complex"):
            suffix = "" if parts[0] == "all" else "/" + parts[0][len("llava_bench_"):]
            metrics["relative_score" + suffix] = float(parts[1])
            metrics["reference_score" + suffix] = float(parts[2])
            metrics["model_score" + suffix] = float(parts[3])
    items = [{"id": str(r["question_id"]), "reference_score": float(r["tuple"][0]), "score": float(r["tuple"][1])}
             for r in map(json.loads, open(reviews, encoding="utf-8"))]
    judge.dump(out / "judge.json")
    sets = [{"name": "main", "answers": "answers.jsonl", "metrics": metrics, "items": items, "judge": "judge.json"}]
    partial, dropped, dups, unknown = partial_rows(rng, answers, [5000, 5001])
    write_jsonl(out / "answers_partial.jsonl", partial)
    sets.append({"name": "partial", "answers": "answers_partial.jsonl", "allow_partial": True, "judge": "judge.json",
                 "reference_refuses": "eval_gpt_review_bench.py zips the question, reference and answer files line by line",
                 "strict_error_names": first_names(unknown) + first_names(sorted(dups)) + first_names(sorted(dropped)),
                 "coverage": 100.0 * (len(questions) - len(dropped)) / len(questions)})
    return {"data": "questions.jsonl", "references": "answers_gpt4.jsonl", "context": "context.jsonl",
            "reproduces": [llava.ref("llava/eval/eval_gpt_review_bench.py", "llava/eval/summarize_gpt_review.py", "llava/eval/table/rule.json")],
            "sets": sets}


# ----------------------------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------------------------

TASK_MODULES = {"llava", "vlmeval", "openai", "sklearn", "vqa_ref_vqa", "vqa_ref_eval", "vizwiz_ref_eval"}

BUILDERS = {
    "pope": "build_pope", "textvqa": "build_textvqa", "vqav2": "build_vqav2", "vizwiz": "build_vizwiz", "gqa": "build_gqa",
    "scienceqa_img": "build_scienceqa", "mmbench": "build_mmbench", "mmvet": "build_mmvet", "llava_bench": "build_llava_bench",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llava", required=True, help="haotian-liu/LLaVA snapshot (c121f04)")
    parser.add_argument("--vqa", help="GT-Vision-Lab/VQA snapshot")
    parser.add_argument("--vlmevalkit", help="open-compass/VLMEvalKit snapshot")
    parser.add_argument("--mmvet", help="yuweihao/MM-Vet snapshot")
    parser.add_argument("--vlm-evaluation", help="TRI-ML/vlm-evaluation snapshot (VizWiz evaluation)")
    parser.add_argument("--gqa-eval", help="a snapshot holding GQA's eval.py in LLaVA's playground layout (SHI-Labs/VCoder)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("data")))
    parser.add_argument("--tasks", default=",".join(BUILDERS))
    args = parser.parse_args()
    refs = {"llava": Snapshot(args.llava, LLAVA_REPO)}
    for key, repo in [("vqa", "GT-Vision-Lab/VQA"), ("vlmevalkit", "open-compass/VLMEvalKit"), ("mmvet", "yuweihao/MM-Vet"),
                      ("vlm_evaluation", "TRI-ML/vlm-evaluation"), ("gqa_eval", "SHI-Labs/VCoder")]:
        if getattr(args, key):
            refs[key] = Snapshot(getattr(args, key), repo)
    out_root = Path(args.out)
    for task in args.tasks.split(","):
        rng = random.Random(f"multilora-eval-reference-{task}")
        out = out_root / task
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        with tempfile.TemporaryDirectory() as tmp:
            cwd = os.getcwd()
            saved_path = list(sys.path)
            try:
                spec = globals()[BUILDERS[task]](rng, refs, out, Path(tmp))
            finally:
                os.chdir(cwd)
                sys.path[:] = saved_path
                # The reference modules and stand-ins of one task must not leak into the next.
                for name in [m for m in sys.modules if m.split(".")[0] in TASK_MODULES]:
                    del sys.modules[name]
        spec = {"task": task, "generated_by": "tests/MultiLora.Eval.Tests/Reference/generate.py", **spec}
        write_json(out / "expected.json", spec, indent=1)
        n = sum(len(s.get("items", [])) for s in spec["sets"])
        print(f"{task}: {len(spec['sets'])} sets, {n} items, metrics " +
              ", ".join(f"{k}={v:.4f}" for k, v in sorted(spec["sets"][0]["metrics"].items()) if "/" not in k))


if __name__ == "__main__":
    main()
