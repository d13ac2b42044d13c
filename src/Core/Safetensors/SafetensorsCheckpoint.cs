using System.Text.Json;
using static TorchSharp.torch;

namespace MultiLora.Core.Safetensors;

/// <summary>
/// The weights of a checkpoint folder: model.safetensors, or shards listed by
/// model.safetensors.index.json (weight_map name -> shard file). Opened lazily, read tensor by tensor.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    readonly List<SafetensorsFile> _files;
    readonly Dictionary<string, SafetensorsFile> _byTensor = new(StringComparer.Ordinal);

    public string Folder { get; }

    /// <summary>What lists the checkpoint's tensors, for errors about a missing one: the index of a sharded checkpoint, else its single file, else the folder.</summary>
    public string Origin { get; }
    public IEnumerable<string> Names => _byTensor.Keys;
    public IReadOnlyList<SafetensorsFile> Files => _files;

    SafetensorsCheckpoint(string folder, List<SafetensorsFile> files, string? index = null)
    {
        Folder = folder;
        _files = files;
        Origin = index ?? (files.Count == 1 ? files[0].Path : folder);
        foreach (var f in files)
            foreach (var name in f.Tensors.Keys)
                _byTensor[name] = f;
    }

    /// <summary>Opens a folder (single file or index + shards) or a single .safetensors file.</summary>
    public static SafetensorsCheckpoint Open(string path)
    {
        if (File.Exists(path) && path.EndsWith(".safetensors", StringComparison.Ordinal))
            return new SafetensorsCheckpoint(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!, [SafetensorsFile.Open(path)]);
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"{path}: checkpoint folder not found");

        string index = System.IO.Path.Combine(path, IndexFile);
        if (File.Exists(index)) return OpenSharded(path, index);
        string single = System.IO.Path.Combine(path, SingleFile);
        if (File.Exists(single)) return new SafetensorsCheckpoint(path, [SafetensorsFile.Open(single)]);
        var any = Directory.GetFiles(path, "*.safetensors").Order(StringComparer.Ordinal).ToList();
        if (any.Count > 0) return new SafetensorsCheckpoint(path, any.Select(SafetensorsFile.Open).ToList());
        throw new FileNotFoundException($"{path}: no {SingleFile}, {IndexFile} or other *.safetensors file (PyTorch .bin checkpoints are not read; convert them to safetensors)");
    }

    static SafetensorsCheckpoint OpenSharded(string folder, string index)
    {
        Dictionary<string, string> map;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(index));
            if (!doc.RootElement.TryGetProperty("weight_map", out var wm))
                throw new InvalidDataException($"{index}: missing 'weight_map'");
            map = wm.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
        }
        catch (JsonException e) { throw new InvalidDataException($"{index}: not valid JSON ({e.Message})"); }

        var files = new List<SafetensorsFile>();
        try
        {
            foreach (var shard in map.Values.Distinct().Order(StringComparer.Ordinal))
            {
                string shardPath = System.IO.Path.Combine(folder, shard);
                if (!File.Exists(shardPath)) throw new FileNotFoundException($"{shardPath}: shard listed in {IndexFile} is missing", shardPath);
                files.Add(SafetensorsFile.Open(shardPath));
            }
            var checkpoint = new SafetensorsCheckpoint(folder, files, index);
            foreach (var (name, shard) in map)
                if (!checkpoint._byTensor.ContainsKey(name))
                    throw new InvalidDataException($"{System.IO.Path.Combine(folder, shard)}: tensor '{name}' listed in {IndexFile} is not in the shard");
            return checkpoint;
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _byTensor.ContainsKey(name);

    public TensorEntry Entry(string name) =>
        _byTensor.TryGetValue(name, out var f) ? f.Tensors[name] : throw new KeyNotFoundException($"{Folder}: checkpoint has no tensor '{name}'");

    public Tensor Load(string name, ScalarType? dtype = null) =>
        _byTensor.TryGetValue(name, out var f) ? f.Load(name, dtype) : throw new KeyNotFoundException($"{Folder}: checkpoint has no tensor '{name}'");

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
