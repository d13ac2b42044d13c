using MultiLora.Data.Images;
using MultiLora.Data.Model;
using MultiLora.Data.Readers;
using MultiLora.Data.Synthetic;

namespace MultiLora.Data.Tests.Readers;

/// <summary>Small data files written by the tests themselves, in each format.</summary>
public static class SampleFiles
{
    public static Conversation[] Conversations(int count = 3) =>
    [
        .. Enumerable.Range(0, count).Select(i => new Conversation($"rec-{i}",
            [
                new Turn(Speaker.Human, $"<image>\nWhat colour is shape {i}?"),
                new Turn(Speaker.Gpt, i % 2 == 0 ? "Red" : "Blue"),
                new Turn(Speaker.Human, "And the \"shape\"?"),
                new Turn(Speaker.Gpt, "Circle, ünïcode ok"),
            ], ImageSource.FromPath($"imgs/{i}.png"), "test")),
    ];

    /// <summary>A tiny distinct PNG per index.</summary>
    public static byte[] Png(int index)
    {
        var pixels = new byte[4 * 4 * 3];
        for (var p = 0; p < pixels.Length; p++) pixels[p] = (byte)(index * 40 + p);
        return PngEncoder.Encode(new RgbImage(4, 4, pixels));
    }

    /// <summary>Writes the images the conversations point at, under root/imgs.</summary>
    public static void WriteImages(string root, int count)
    {
        Directory.CreateDirectory(Path.Combine(root, "imgs"));
        for (var i = 0; i < count; i++) File.WriteAllBytes(Path.Combine(root, "imgs", $"{i}.png"), Png(i));
    }

    public static string WriteJson(string path, IEnumerable<Conversation> conversations, bool lines)
    {
        using var writer = new LlavaJsonWriter(path, lines);
        foreach (var c in conversations) writer.Write(c);
        return path;
    }

    public static string WriteParquet(string path, IEnumerable<Conversation> conversations, Func<Conversation, byte[]?> bytes, int rowGroupSize = 2)
    {
        using var writer = new ParquetConversationWriter(path, rowGroupSize);
        foreach (var c in conversations) writer.Write(c, bytes(c), c.Image?.Path);
        return path;
    }
}
