using MultiLora.Eval.Samples;
using MultiLora.Eval.Scoring;
using MultiLora.Eval.Tasks;

namespace MultiLora.Eval.Running;

/// <summary>
/// Matches answer-file rows to a task's samples the way its reference script does (by question id; TextVQA by image
/// id and lower-cased question from the row's prompt; MM-Vet ids as "v1_&lt;id&gt;"), and finds what must never be
/// joined silently: rows that match no question, questions answered more than once, required questions with no
/// answer. <see cref="Problem"/> is the one-line report of those; <see cref="Answers"/> what is scored when the user
/// allows a partial file: a duplicated question keeps its last answer, or every answer where the reference counts
/// each row (TextVQA).
/// </summary>
public sealed class AnswerJoin
{
    const int Named = 3;

    public required IReadOnlyList<(EvalSample Sample, IReadOnlyList<AnswerRow> Rows)> Answers { get; init; }
    public required IReadOnlyList<(AnswerRow Row, string Why)> Unknown { get; init; }
    public required IReadOnlyList<(string Question, IReadOnlyList<AnswerRow> Rows)> Duplicated { get; init; }
    public required IReadOnlyList<EvalSample> Missing { get; init; }

    public bool Clean => Unknown.Count == 0 && Duplicated.Count == 0 && Missing.Count == 0;

    /// <summary>The problems, first ids named, as one sentence; null when the file matches the questions one to one.</summary>
    public string? Problem
    {
        get
        {
            var parts = new List<string>();
            if (Unknown.Count > 0)
                parts.Add($"{Count(Unknown.Count, "answer")} match no question (first: {string.Join(", ", Unknown.Take(Named).Select(u => $"line {u.Row.Line} question_id {u.Row.QuestionId}{u.Why}"))})");
            if (Duplicated.Count > 0)
                parts.Add($"{Count(Duplicated.Count, "question")} answered more than once (first: {string.Join(", ", Duplicated.Take(Named).Select(d => $"{d.Question} on lines {string.Join(" and ", d.Rows.Select(r => r.Line))}"))})");
            if (Missing.Count > 0)
                parts.Add($"{Count(Missing.Count, "question")} without an answer (first: {string.Join(", ", Missing.Take(Named).Select(s => s.Id))})");
            return parts.Count == 0 ? null : string.Join("; ", parts);
        }
    }

    static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    public static AnswerJoin Match(TaskDefinition task, IReadOnlyList<EvalSample> samples, IReadOnlyList<AnswerRow> rows, DuplicateAnswers duplicates)
    {
        var byKey = new Dictionary<string, List<EvalSample>>(StringComparer.Ordinal);
        var byId = new Dictionary<string, EvalSample>(StringComparer.Ordinal);
        foreach (var s in samples)
        {
            var key = s.JoinKey ?? s.Id;
            if (!byKey.TryGetValue(key, out var list)) byKey[key] = list = [];
            list.Add(s);
            byId[s.Id] = s;
        }
        var rowsByKey = new Dictionary<string, List<AnswerRow>>(StringComparer.Ordinal);
        var unknown = new List<(AnswerRow, string)>();
        var textKeys = samples.Any(s => s.JoinKey is not null);
        foreach (var row in rows)
        {
            var (key, why) = KeyOf(task, row, textKeys, byKey, byId);
            if (key is null) { unknown.Add((row, why)); continue; }
            if (!rowsByKey.TryGetValue(key, out var list)) rowsByKey[key] = list = [];
            list.Add(row);
        }

        var answers = new List<(EvalSample, IReadOnlyList<AnswerRow>)>();
        var duplicated = new List<(string, IReadOnlyList<AnswerRow>)>();
        var missing = new List<EvalSample>();
        foreach (var (key, group) in byKey)
        {
            var got = rowsByKey.GetValueOrDefault(key) ?? [];
            if (got.Count > group.Count) duplicated.Add((group.Count == 1 ? group[0].Id : $"{string.Join("/", group.Select(s => s.Id))}", got));
            // Rows go to the group's questions in order; extra rows either replace (last wins) or add records to the last question.
            var kept = duplicates == DuplicateAnswers.LastWins && got.Count > group.Count ? got.Skip(got.Count - group.Count).ToList() : got;
            for (var i = 0; i < group.Count; i++)
            {
                if (i >= kept.Count) { if (!group[i].Optional) missing.Add(group[i]); continue; }
                var mine = i < group.Count - 1 ? [kept[i]] : kept.Skip(i).ToList();
                answers.Add((group[i], mine));
            }
        }
        var order = samples.Select((s, i) => (s.Id, i)).ToDictionary(x => x.Id, x => x.i);
        return new AnswerJoin
        {
            Answers = answers.OrderBy(a => order[a.Item1.Id]).ToList(),
            Unknown = unknown,
            Duplicated = duplicated,
            Missing = missing.OrderBy(s => order[s.Id]).ToList(),
        };
    }

    /// <summary>The join key of a row, or null and why it matches nothing.</summary>
    static (string? Key, string Why) KeyOf(TaskDefinition task, AnswerRow row, bool textKeys, Dictionary<string, List<EvalSample>> byKey, Dictionary<string, EvalSample> byId)
    {
        if (textKeys && row.Prompt is { } prompt)
        {
            // LLaVA's TextVQA answers: question_id is the image id; the question is read off the prompt.
            if (LlavaTextVqaPrompt.Question(prompt) is not { } question) return (null, " (a prompt eval_textvqa.py cannot read)");
            var key = VqaReader.TextVqaKey(row.QuestionId, question);
            return byKey.ContainsKey(key) ? (key, "") : (null, " (no question with this image id and text)");
        }
        if (byId.TryGetValue(row.QuestionId, out var sample)) return (sample.JoinKey ?? sample.Id, "");
        // LLaVA's convert_mmvet_for_eval.py writes question_id N as "v1_N", the ids of mm-vet.json.
        if (task.Format == "mmvet_json" && byId.TryGetValue("v1_" + row.QuestionId, out sample)) return (sample.Id, "");
        return (null, "");
    }
}
