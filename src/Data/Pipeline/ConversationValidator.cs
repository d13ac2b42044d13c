using MultiLora.Data.Errors;
using MultiLora.Data.Model;

namespace MultiLora.Data.Pipeline;

/// <summary>
/// Checks a conversation's shape before encoding: at least one exchange, an optional leading system turn, then
/// human and gpt turns alternating, starting with human, ending with gpt (the turn the loss is taken on).
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
    }
}
