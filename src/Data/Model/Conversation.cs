namespace MultiLora.Data.Model;

/// <summary>Who speaks a turn. LLaVA data says "human"/"gpt"; ShareGPT also "user"/"assistant"/"system".</summary>
public enum Speaker { System, Human, Gpt }

public sealed record Turn(Speaker From, string Value);

/// <summary>Where a sample's image comes from: a path (relative to the dataset's image root) or bytes in the row.</summary>
public sealed record ImageSource(string? Path, byte[]? Bytes)
{
    public static ImageSource FromPath(string path) => new(path, null);
    public static ImageSource FromBytes(byte[] bytes) => new(null, bytes);
    public override string ToString() => Path ?? $"<{Bytes?.Length ?? 0} bytes>";
}

/// <summary>
/// One training or evaluation record as read from any format.
/// <paramref name="Origin"/> names the file and record index ("data.json#17") for error messages.
/// </summary>
public sealed record Conversation(string Id, IReadOnlyList<Turn> Turns, ImageSource? Image, string Origin)
{
    public bool HasImage => Image is not null;
}

/// <summary>
/// Token ids and labels of one sample. Labels are -100 (<see cref="IgnoreIndex"/>) wherever the loss
/// is not taken. <paramref name="ImageTokenCount"/> is the number of image placeholder positions.
/// </summary>
public sealed record EncodedSample(int[] InputIds, int[] Labels, int ImageTokenCount)
{
    public const int IgnoreIndex = -100;
    public int Length => InputIds.Length;
    public int LabelTokenCount => Labels.Count(l => l != IgnoreIndex);
}

/// <summary>Turns a conversation into ids and labels under a template (implemented by ConversationEncoder).</summary>
public interface IConversationEncoder
{
    EncodedSample Encode(Conversation conversation);
}
