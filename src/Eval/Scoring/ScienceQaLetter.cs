using MultiLora.Eval.Samples;
using MultiLora.Eval.Text;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// The answer parsing of LLaVA's eval_science_qa.py (haotian-liu/LLaVA @ c121f04), exactly: the reply as written
/// (no stripping) is one of A-E; or it is at least three characters, starts with one of A-E and continues with ". ";
/// or <c>re.findall(r'The answer is ([A-Z]).', reply)</c> finds exactly one match (the '.' is any character but a
/// newline). Anything else is "FAILED". A letter beyond the problem's choices is wrong, as is "FAILED".
/// </summary>
public static class ScienceQaLetter
{
    public const string Failed = "FAILED";
    static readonly string[] Letters = ["A", "B", "C", "D", "E"];
    const string AnswerIs = "The answer is ";

    public static string Parse(string reply)
    {
        if (Letters.Contains(reply)) return reply;
        var cps = PyStr.CodePoints(reply);
        if (cps.Length >= 3 && cps[0] is >= 'A' and <= 'E' && cps[1] == '.' && cps[2] == ' ') return ((char)cps[0]).ToString();
        var matches = FindAll(cps);
        return matches.Count == 1 ? matches[0] : Failed;
    }

    /// <summary>Non-overlapping matches of <c>The answer is ([A-Z]).</c>, scanning left to right on code points.</summary>
    static List<string> FindAll(int[] cps)
    {
        var found = new List<string>();
        var length = AnswerIs.Length + 2;
        for (var i = 0; i + length <= cps.Length;)
        {
            var ok = true;
            for (var k = 0; k < AnswerIs.Length && ok; k++) ok = cps[i + k] == AnswerIs[k];
            var letter = ok ? cps[i + AnswerIs.Length] : 0;
            if (ok && letter is >= 'A' and <= 'Z' && cps[i + AnswerIs.Length + 1] != '\n')
            {
                found.Add(((char)letter).ToString());
                i += length;
            }
            else i++;
        }
        return found;
    }

    /// <summary>The parsed letter when it names one of the problem's options, else null (scored wrong).</summary>
    public static string? Extract(string reply, IReadOnlyList<ChoiceOption> options)
    {
        var letter = Parse(reply);
        return options.Any(o => o.Letter == letter) ? letter : null;
    }
}
