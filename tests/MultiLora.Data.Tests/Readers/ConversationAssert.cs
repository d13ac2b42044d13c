using MultiLora.Data.Model;

namespace MultiLora.Data.Tests.Readers;

/// <summary>Compares conversations by content: id, turns, image path and bytes (Origin names the file and so differs by format).</summary>
public static class ConversationAssert
{
    public static void SameContent(Conversation expected, Conversation actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Turns, actual.Turns);
        Assert.Equal(expected.Image?.Path, actual.Image?.Path);
        Assert.Equal(expected.Image?.Bytes, actual.Image?.Bytes);
    }
}
