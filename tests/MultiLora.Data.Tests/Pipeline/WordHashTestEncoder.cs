using MultiLora.Data.Model;

namespace MultiLora.Data.Tests.Pipeline;

/// <summary>
/// Test double for the conversation encoder (the real one lives in src/Data/Templates): one id per
/// whitespace-separated word (a stable hash), "&lt;image&gt;" as id -200, labels only on gpt words.
/// A turn containing "ENCODER-FAIL" makes it throw, as a real encoder does on input it cannot handle.
/// </summary>
public sealed class WordHashTestEncoder : IConversationEncoder
{
    public const int ImageId = -200;

    public EncodedSample Encode(Conversation conversation)
    {
        var ids = new List<int> { 1 };
        var labels = new List<int> { EncodedSample.IgnoreIndex };
        var images = 0;
        foreach (var turn in conversation.Turns)
        {
            if (turn.Value.Contains("ENCODER-FAIL", StringComparison.Ordinal)) throw new ArgumentException("test encoder refuses this turn");
            foreach (var word in turn.Value.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries))
            {
                var id = word == "<image>" ? ImageId : 10 + word.Aggregate(7, (h, c) => (h * 31 + c) & 0x3FF);
                if (id == ImageId) images++;
                ids.Add(id);
                labels.Add(turn.From == Speaker.Gpt ? id : EncodedSample.IgnoreIndex);
            }
        }
        return new EncodedSample([.. ids], [.. labels], images);
    }
}
