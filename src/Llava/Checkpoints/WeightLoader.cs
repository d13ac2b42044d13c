using MultiLora.Core.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Checkpoints;

/// <summary>
/// Copies checkpoint tensors into a module's parameters and buffers, one tensor at a time (so peak
/// memory is the model plus one tensor), converting dtype on the way. Shapes are checked (TorchSharp's
/// own load_state_dict checks only names); every problem names the file and the key.
/// </summary>
public sealed class WeightLoader
{
    readonly Dictionary<string, Tensor> _targets;
    readonly HashSet<string> _loaded = new(StringComparer.Ordinal);

    public WeightLoader(nn.Module root)
    {
        _targets = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in root.named_parameters()) _targets[name] = p;
        foreach (var (name, b) in root.named_buffers()) _targets.TryAdd(name, b);
    }

    /// <summary>Loads every tensor of <paramref name="checkpoint"/> that maps to a module name. Returns how many were loaded.</summary>
    /// <param name="map">checkpoint key to module name; null marks a key the model has no place for (an error)</param>
    /// <param name="skip">keys deliberately not loaded here (other parts of a full checkpoint, rows loaded by hand)</param>
    public int Load(SafetensorsCheckpoint checkpoint, Func<string, string?> map, Func<string, bool>? skip = null)
    {
        var unexpected = new List<string>();
        int count = 0;
        foreach (var key in checkpoint.Names.Order(StringComparer.Ordinal))
        {
            if (KeyLayout.IsIgnorable(key) || skip?.Invoke(key) == true) continue;
            string? name = map(key);
            if (name is null || !_targets.TryGetValue(name, out var target)) { unexpected.Add(key); continue; }
            var entry = checkpoint.Entry(key);
            if (!entry.Shape.SequenceEqual(target.shape))
                throw new InvalidDataException(
                    $"{entry.File}: tensor '{key}' has shape [{string.Join(", ", entry.Shape)}] but the model's '{name}' is [{string.Join(", ", target.shape)}] (config.json does not match the weights)");
            using (no_grad())
            using (var value = checkpoint.Load(key))
                target.copy_(value);
            _loaded.Add(name);
            count++;
        }
        if (unexpected.Count > 0)
            throw new InvalidDataException(
                $"{checkpoint.Folder}: {unexpected.Count} tensor(s) match no module of the model, e.g. {string.Join(", ", unexpected.Take(5))} (wrong architecture or an unsupported key layout)");
        return count;
    }

    /// <summary>Throws if a parameter under <paramref name="prefix"/> was not loaded (tied weights excepted).</summary>
    public void RequireLoaded(string prefix, string origin, IEnumerable<string>? exempt = null)
    {
        var skip = new HashSet<string>(exempt ?? [], StringComparer.Ordinal);
        var missing = _targets.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !_loaded.Contains(k) && !skip.Contains(k)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{origin}: {missing.Count} weight(s) missing from the checkpoint, e.g. {string.Join(", ", missing.Take(5))}");
    }
}
