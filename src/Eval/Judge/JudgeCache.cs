using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MultiLora.Eval.Judge;

/// <summary>Successful judge replies on disk, one file per request named by the SHA-256 of the request body.</summary>
public sealed class JudgeCache(string? dir)
{
    public static string Key(string requestBody) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(requestBody)));

    public string? Get(string key)
    {
        if (dir is null) return null;
        var path = Path.Combine(dir, key + ".json");
        if (!File.Exists(path)) return null;
        try { return JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("content").GetString(); }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { return null; } // a torn cache file is just a miss
    }

    public void Put(string key, string content)
    {
        if (dir is null) return;
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, key + ".json");
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(new { content }));
        File.Move(tmp, path, overwrite: true);
    }
}
