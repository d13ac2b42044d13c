using MultiLora.Data.Model;

namespace MultiLora.Data.Templates;

/// <summary>
/// Checks a conversation's shape and puts the image placeholder where LLaVA's preprocess_multimodal puts it:
/// the human turn holding "&lt;image&gt;" becomes image_prefix + the rest of its text trimmed; an image with no
/// placeholder goes to the first human turn. Errors name <c>origin</c>.
/// </summary>
static class TurnNormalizer
{
    /// <summary>Returns the human/gpt turns (alternating, human first) and the system prompt to use.</summary>
    public static (List<Turn> Turns, string System) Normalize(ConversationTemplate t, IReadOnlyList<Turn> input, bool hasImage, string origin, bool endsWithHuman)
    {
        var system = t.System;
        var turns = new List<Turn>(input.Count);
        for (var i = 0; i < input.Count; i++)
        {
            if (input[i].From == Speaker.System)
            {
                if (i != 0) throw new InvalidDataException($"{origin}: a system turn may only come first (turn {i})");
                system = input[i].Value;
                continue;
            }
            var expected = turns.Count % 2 == 0 ? Speaker.Human : Speaker.Gpt;
            if (input[i].From != expected)
                throw new InvalidDataException($"{origin}: turn {i} is from {input[i].From}, expected {expected} (turns must alternate human/gpt, starting with human)");
            turns.Add(input[i]);
        }
        if (turns.Count == 0) throw new InvalidDataException($"{origin}: conversation has no human/gpt turns");
        var last = turns[^1].From;
        if (endsWithHuman && last != Speaker.Human) throw new InvalidDataException($"{origin}: the last turn must be the human's message");
        if (!endsWithHuman && last != Speaker.Gpt) throw new InvalidDataException($"{origin}: conversation ends with a human turn that has no reply");
        if (t.SepStyle == SeparatorStyle.Plain && (turns.Count != (endsWithHuman ? 1 : 2) || !hasImage))
            throw new InvalidDataException($"{origin}: template '{t.Name}' takes exactly one image and one human/gpt exchange");

        var placeholders = turns.Select((turn, i) => (i, Count: CountImageTokens(turn.Value))).Where(x => x.Count > 0).ToList();
        var total = placeholders.Sum(x => x.Count);
        if (total > 1) throw new InvalidDataException($"{origin}: {total} {ConversationTemplate.ImageToken} placeholders; only one image per conversation is supported");
        if (total == 1 && !hasImage) throw new InvalidDataException($"{origin}: text has {ConversationTemplate.ImageToken} but the conversation has no image");
        if (!hasImage) return (turns, system);

        var at = total == 1 ? placeholders[0].i : 0;
        if (turns[at].From != Speaker.Human) throw new InvalidDataException($"{origin}: {ConversationTemplate.ImageToken} is in an assistant turn (turn {at})");
        var rest = turns[at].Value.Replace(ConversationTemplate.ImageToken, "", StringComparison.Ordinal).Trim();
        turns[at] = turns[at] with { Value = t.ImagePrefix + rest };
        return (turns, system);
    }

    static int CountImageTokens(string text)
    {
        var count = 0;
        for (var i = text.IndexOf(ConversationTemplate.ImageToken, StringComparison.Ordinal); i >= 0;
             i = text.IndexOf(ConversationTemplate.ImageToken, i + 1, StringComparison.Ordinal)) count++;
        return count;
    }
}
