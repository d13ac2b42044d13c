using System.Text;
using MultiLora.Eval.Text;

namespace MultiLora.Eval.Scoring.Vqa;

/// <summary>
/// The answer-normalisation steps shared by the official VQA evaluation (vqaEval.py), the EvalAI answer processor
/// (m4c_evaluator.py) and the VizWiz evaluation, with Python's string semantics (PyStr): the regular expressions
/// are evaluated on code points with re's \d (any Unicode decimal digit).
/// </summary>
public static class VqaText
{
    static readonly string[] Punctuation = [";", "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"];
    static readonly HashSet<string> Articles = ["a", "an", "the"];

    static readonly Dictionary<string, string> NumberWords = new()
    {
        ["none"] = "0", ["zero"] = "0", ["one"] = "1", ["two"] = "2", ["three"] = "3", ["four"] = "4",
        ["five"] = "5", ["six"] = "6", ["seven"] = "7", ["eight"] = "8", ["nine"] = "9", ["ten"] = "10",
    };

    /// <summary>Which "comma between digits" pattern decides whether punctuation is deleted rather than spaced.</summary>
    public enum CommaRule
    {
        /// <summary>m4c COMMA_STRIP <c>(?&lt;=\d)(\,)+(?=\d)</c>.</summary>
        DigitCommasDigit,
        /// <summary>vqaEval commaStrip <c>(\d)(\,)(\d)</c>.</summary>
        DigitCommaDigit,
    }

    /// <summary>
    /// processPunctuation: each punctuation mark is deleted when it touches a space in the input (or a comma sits
    /// between digits), else replaced by a space; then periods not followed by a digit are deleted, at most 32 of
    /// them (the scripts pass re.UNICODE, 32, as sub's count).
    /// </summary>
    public static string ProcessPunctuation(string inText, CommaRule rule)
    {
        var outText = inText;
        var commaBetweenDigits = HasCommaBetweenDigits(PyStr.CodePoints(inText), rule);
        foreach (var p in Punctuation)
            outText = inText.Contains(p + " ", StringComparison.Ordinal) || inText.Contains(" " + p, StringComparison.Ordinal) || commaBetweenDigits
                ? outText.Replace(p, "", StringComparison.Ordinal)
                : outText.Replace(p, " ", StringComparison.Ordinal);
        return StripPeriods(outText, 32);
    }

    static bool HasCommaBetweenDigits(int[] cps, CommaRule rule)
    {
        for (var i = 1; i < cps.Length; i++)
        {
            if (cps[i] != ',' || !PyStr.IsDecimal(cps[i - 1])) continue;
            var k = i + 1;
            if (rule == CommaRule.DigitCommasDigit) while (k < cps.Length && cps[k] == ',') k++;
            if (k < cps.Length && PyStr.IsDecimal(cps[k])) return true;
        }
        return false;
    }

    /// <summary>PERIOD_STRIP <c>(?!&lt;=\d)(\.)(?!\d)</c>.sub("", text, count): the first lookahead can never hold, so: a '.' not followed by a digit.</summary>
    static string StripPeriods(string text, int count)
    {
        var cps = PyStr.CodePoints(text);
        var kept = new List<int>(cps.Length);
        var removed = 0;
        for (var i = 0; i < cps.Length; i++)
        {
            if (cps[i] == '.' && removed < count && !(i + 1 < cps.Length && PyStr.IsDecimal(cps[i + 1]))) { removed++; continue; }
            kept.Add(cps[i]);
        }
        return PyStr.FromCodePoints(kept);
    }

    /// <summary>processDigitArticle: lower, split, number words to digits, drop articles, restore contractions, join.</summary>
    public static string ProcessDigitArticle(string inText, IReadOnlyDictionary<string, string> contractions)
    {
        var words = new List<string>();
        foreach (var raw in PyStr.Split(PyStr.Lower(inText)))
        {
            var word = NumberWords.GetValueOrDefault(raw, raw);
            if (!Articles.Contains(word)) words.Add(word);
        }
        for (var i = 0; i < words.Count; i++)
            if (contractions.TryGetValue(words[i], out var fixedWord)) words[i] = fixedWord;
        return string.Join(' ', words);
    }

    /// <summary>The scripts' <c>.replace('\n', ' ').replace('\t', ' ').strip()</c>.</summary>
    public static string FlattenAndStrip(string s) => PyStr.Strip(s.Replace('\n', ' ').Replace('\t', ' '));

    /// <summary>
    /// EvalAIAnswerProcessor.__call__ (LLaVA m4c_evaluator.py, also used by its VQAv2 and VizWiz converters):
    /// lower, drop ',' and '?', "'s" -> " 's", strip; newlines and tabs to spaces, strip; punctuation; digits and articles.
    /// </summary>
    public static string EvalAi(string item)
    {
        item = PyStr.Strip(PyStr.Lower(item).Replace(",", "", StringComparison.Ordinal).Replace("?", "", StringComparison.Ordinal)
            .Replace("'s", " 's", StringComparison.Ordinal));
        item = FlattenAndStrip(item);
        item = ProcessPunctuation(item, CommaRule.DigitCommasDigit);
        return ProcessDigitArticle(item, VqaContractions.Vqa);
    }

    /// <summary>vqaEval.py's processPunctuation then processDigitArticle (applied when annotators disagree).</summary>
    public static string VqaEval(string answer) =>
        ProcessDigitArticle(ProcessPunctuation(answer, CommaRule.DigitCommaDigit), VqaContractions.Vqa);

    /// <summary>The VizWiz evaluation's normalisation of a prediction (always applied; its own contraction table).</summary>
    public static string VizWizEval(string answer) =>
        ProcessDigitArticle(ProcessPunctuation(FlattenAndStrip(answer), CommaRule.DigitCommaDigit), VqaContractions.VizWiz);

    /// <summary>min(#matches among the other annotators / 3, 1), averaged over leaving each annotator out.</summary>
    public static double LeaveOneOutAccuracy(string prediction, IReadOnlyList<string> annotators)
    {
        if (annotators.Count == 0) return 0;
        var total = 0.0;
        for (var left = 0; left < annotators.Count; left++)
        {
            var matches = 0;
            for (var j = 0; j < annotators.Count; j++) if (j != left && annotators[j] == prediction) matches++;
            total += Math.Min(1.0, matches / 3.0);
        }
        return total / annotators.Count;
    }
}
