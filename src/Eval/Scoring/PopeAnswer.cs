namespace MultiLora.Eval.Scoring;

/// <summary>
/// LLaVA's eval_pope.py reading of a reply: keep the text before the first '.', drop commas, split on spaces;
/// "No", "not" or "no" among the words means no, anything else yes.
/// </summary>
public static class PopeAnswer
{
    public static string Parse(string reply)
    {
        var text = reply;
        var dot = text.IndexOf('.');
        if (dot >= 0) text = text[..dot];
        var words = text.Replace(",", "").Split(' ');
        return words.Any(w => w is "No" or "not" or "no") ? "no" : "yes";
    }
}
