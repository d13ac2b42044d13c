using System.Text.RegularExpressions;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// The official VQA answer normalisation (vqaEval.py, as lmms-eval's EvalAIAnswerProcessor applies it to both
/// the prediction and the annotator answers): lower-case, drop ',' and '?', "'s" -> " 's"; punctuation removed
/// (or spaced when not adjacent to a space and no digit,digit occurs); periods not inside numbers dropped (at most
/// 32, the quirk of passing re.UNICODE as count); number words zero..ten -> digits; articles a/an/the dropped;
/// apostrophe-less contractions restored ("dont" -> "don't").
/// </summary>
public static partial class VqaNormalizer
{
    static readonly string[] Punctuations = [";", "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"];
    static readonly HashSet<string> Articles = ["a", "an", "the"];

    static readonly Dictionary<string, string> Numbers = new()
    {
        ["none"] = "0", ["zero"] = "0", ["one"] = "1", ["two"] = "2", ["three"] = "3", ["four"] = "4",
        ["five"] = "5", ["six"] = "6", ["seven"] = "7", ["eight"] = "8", ["nine"] = "9", ["ten"] = "10",
    };

    [GeneratedRegex(@"(?!<=\d)(\.)(?!\d)")]
    private static partial Regex PeriodStrip();

    [GeneratedRegex(@"(?<=\d)(\,)+(?=\d)")]
    private static partial Regex CommaStrip();

    public static string Normalize(string answer)
    {
        var item = answer.ToLowerInvariant().Replace(",", "").Replace("?", "").Replace("'s", " 's").Trim();
        item = item.Replace("\n", " ").Replace("\t", " ").Trim();
        item = ProcessPunctuation(item);
        return ProcessDigitArticle(item);
    }

    static string ProcessPunctuation(string inText)
    {
        var outText = inText;
        var commaBetweenDigits = CommaStrip().IsMatch(inText);
        foreach (var p in Punctuations)
            outText = (inText.Contains(p + " ") || inText.Contains(" " + p) || commaBetweenDigits)
                ? outText.Replace(p, "") : outText.Replace(p, " ");
        return PeriodStrip().Replace(outText, "", 32);
    }

    static string ProcessDigitArticle(string inText)
    {
        var words = new List<string>();
        foreach (var raw in inText.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var word = Numbers.GetValueOrDefault(raw, raw);
            if (!Articles.Contains(word)) words.Add(word);
        }
        for (var i = 0; i < words.Count; i++)
            if (VqaContractions.Map.TryGetValue(words[i], out var fixedWord)) words[i] = fixedWord;
        return string.Join(' ', words);
    }
}
