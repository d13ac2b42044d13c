using MultiLora.Eval.Samples;
using MultiLora.Eval.Text;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// Option-letter extraction of VLMEvalKit's can_infer (vlmeval/utils/matching_util.py, open-compass/VLMEvalKit
/// @ e8e78f05), with Python string semantics:
/// 1. can_infer_option: "Failed to obtain answer via API" -> nothing; a known refusal -> "Z"; replace
///    . ( ) [ ] , : ; ! * # { } by spaces and split on whitespace; when exactly one option letter is a token, that
///    letter if its first occurrence is among the last four tokens; when none is and "Z" is a token, "Z"; else the
///    first match of (?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\** if that letter is an option.
/// 2. else can_infer_text: the lower-cased answer, if not longer than twice the options' total length, contains the
///    lower-cased text of exactly one option -> that option.
/// Otherwise nothing (VLMEvalKit's exact-matching mode scores it wrong). VLMEvalKit's VERBOSE-only checks are not applied.
/// </summary>
public static class OptionExtractor
{
    const string Separators = ".()[],:;!*#{}";

    static readonly string[] Refusals =
    [
        "Sorry, I can't help with images of people yet.",
        "I can't process this file.",
        "I'm sorry, but without the image provided",
        "Cannot determine the answer",
    ];

    public static string? Extract(string answer, IReadOnlyList<ChoiceOption> options) =>
        FromLetters(answer, options) ?? FromText(answer, options);

    static string? FromLetters(string answer, IReadOnlyList<ChoiceOption> options)
    {
        if (answer.Contains("Failed to obtain answer via API", StringComparison.Ordinal)) return null;
        if (Refusals.Any(r => answer.Contains(r, StringComparison.Ordinal))) return "Z";
        var chars = answer.ToCharArray();
        for (var i = 0; i < chars.Length; i++) if (Separators.Contains(chars[i])) chars[i] = ' ';
        var splits = PyStr.Split(new string(chars));
        var count = options.Count(o => splits.Contains(o.Letter));
        if (count == 1)
        {
            foreach (var o in options)
                if (splits.IndexOf(o.Letter) is var at and >= 0 && at > splits.Count - 5) return o.Letter;
        }
        else if (count == 0 && splits.Contains("Z")) return "Z";
        return VerboseAnswer(answer) is { } letter && options.Any(o => o.Letter == letter) ? letter : null;
    }

    /// <summary>The first match of <c>(?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**</c>, upper-cased (Python re semantics).</summary>
    static string? VerboseAnswer(string answer)
    {
        var cps = PyStr.CodePoints(answer);
        for (var i = 0; i < cps.Length; i++)
        {
            if (Word(cps, i, "correct") is var afterCorrect and > 0 && Spaces(cps, afterCorrect) is var start and > 0 && Rest(cps, start) is { } viaCorrect)
                return viaCorrect;
            if (Rest(cps, i) is { } direct) return direct;
        }
        return null;
    }

    /// <summary><c>answer\s+is\s+\**([ABCD])</c> at <paramref name="i"/>; the trailing <c>\**</c> always matches.</summary>
    static string? Rest(int[] cps, int i)
    {
        var p = Word(cps, i, "answer");
        if (p < 0 || (p = Spaces(cps, p)) < 0 || (p = Word(cps, p, "is")) < 0 || (p = Spaces(cps, p)) < 0) return null;
        while (p < cps.Length && cps[p] == '*') p++;
        if (p >= cps.Length) return null;
        foreach (var letter in "abcd")
            if (PythonUnicode.IgnoreCase[letter].Contains(cps[p])) return char.ToUpperInvariant(letter).ToString();
        return null;
    }

    /// <summary>The position after <paramref name="word"/> matched case-insensitively as Python's re does, or -1.</summary>
    static int Word(int[] cps, int i, string word)
    {
        if (i + word.Length > cps.Length) return -1;
        for (var k = 0; k < word.Length; k++)
            if (!PythonUnicode.IgnoreCase[word[k]].Contains(cps[i + k])) return -1;
        return i + word.Length;
    }

    /// <summary>The position after one or more whitespace characters (\s), or -1.</summary>
    static int Spaces(int[] cps, int i)
    {
        var p = i;
        while (p < cps.Length && PyStr.IsSpace(cps[p])) p++;
        return p > i ? p : -1;
    }

    static string? FromText(string answer, IReadOnlyList<ChoiceOption> options)
    {
        var lower = PyStr.Lower(answer);
        if (PyStr.Len(lower) > 2 * options.Sum(o => PyStr.Len(o.Text))) return null;
        var found = options.Where(o => lower.Contains(PyStr.Lower(o.Text), StringComparison.Ordinal)).ToList();
        return found.Count == 1 ? found[0].Letter : null;
    }
}
