using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// Option-letter extraction from free text, mirroring VLMEvalKit's can_infer (vlmeval/utils/matching_util.py):
/// 1. can_infer_option: replace . ( ) [ ] , : ; ! * # { } by spaces, split on whitespace; if exactly one option
///    letter appears as a token, that letter (case-sensitive: "b" is not "B"); if none does and a token "Z" does, "Z"
///    (a refusal, scored wrong). 2. else can_infer_text: the lower-cased answer contains the lower-cased text of
///    exactly one option -> that option. Otherwise nothing (scored wrong, as VLMEvalKit's exact-matching mode does).
/// VLMEvalKit's "A might be a quantifier" check only runs with VERBOSE set, so it is not applied here either.
/// </summary>
public static class OptionExtractor
{
    const string Separators = ".()[],:;!*#{}";

    /// <summary>The refusals VLMEvalKit maps to "Z".</summary>
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
        if (answer.Contains("Failed to obtain answer via API")) return null;
        if (Refusals.Any(answer.Contains)) return "Z";
        var chars = answer.ToCharArray();
        for (var i = 0; i < chars.Length; i++) if (Separators.Contains(chars[i])) chars[i] = ' ';
        var tokens = new string(chars).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var found = options.Where(o => tokens.Contains(o.Letter)).ToList();
        if (found.Count == 1) return found[0].Letter;
        if (found.Count == 0 && tokens.Contains("Z")) return "Z";
        return null;
    }

    static string? FromText(string answer, IReadOnlyList<ChoiceOption> options)
    {
        var lower = answer.ToLowerInvariant();
        var found = options.Where(o => lower.Contains(o.Text.ToLowerInvariant())).ToList();
        return found.Count == 1 ? found[0].Letter : null;
    }
}
