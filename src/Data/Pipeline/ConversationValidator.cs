using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Readers;

namespace MultiLora.Data.Pipeline;

/// <summary>
/// Checks a conversation's shape before encoding: at least one exchange, an optional leading system turn, then
/// human and gpt turns alternating, starting with human, ending with gpt (the turn the loss is taken on);
/// and at most one image placeholder, none in a text-only record (the model would look for image features that
/// do not exist). An image record without a placeholder is accepted: LLaVA's templates put it in front.
/// </summary>
public static class ConversationValidator
{
    public static void Validate(Conversation conversation)
    {
        var turns = conversation.Turns;
        if (turns.Count == 0) throw new DataRecordException(DataErrorKind.NoConversations, conversation.Origin, "record has no conversation turns");
        var first = turns[0].From == Speaker.System ? 1 : 0;
        if (turns.Count - first < 2)
            throw new DataRecordException(DataErrorKind.NoConversations, conversation.Origin, "record has no human/gpt exchange");
        for (var i = first; i < turns.Count; i++)
        {
            var expected = (i - first) % 2 == 0 ? Speaker.Human : Speaker.Gpt;
            if (turns[i].From != expected)
                throw new DataRecordException(DataErrorKind.BadTurnOrder, conversation.Origin,
                    $"turn {i} is from {turns[i].From.ToString().ToLowerInvariant()}, expected {expected.ToString().ToLowerInvariant()} (turns must alternate human/gpt)");
        }
        if (turns[^1].From != Speaker.Gpt)
            throw new DataRecordException(DataErrorKind.BadTurnOrder, conversation.Origin, "the last turn is not from gpt");
        var placeholders = turns.Sum(t => CountPlaceholders(t.Value));
        if (!conversation.HasImage && placeholders > 0)
            throw new DataRecordException(DataErrorKind.PlaceholderMismatch, conversation.Origin, $"text-only record contains {ImagePlaceholder.Token}");
        if (placeholders > 1)
            throw new DataRecordException(DataErrorKind.PlaceholderMismatch, conversation.Origin, $"record has {placeholders} {ImagePlaceholder.Token} placeholders for one image");
    }

    static int CountPlaceholders(string text)
    {
        var count = 0;
        for (var at = text.IndexOf(ImagePlaceholder.Token, StringComparison.Ordinal); at >= 0; at = text.IndexOf(ImagePlaceholder.Token, at + 1, StringComparison.Ordinal)) count++;
        return count;
    }
}
