using MultiLora.Core.Safetensors;
using MultiLora.Lora.Surgery;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Checkpoints;

/// <summary>
/// Puts checkpoint tensors into a module's parameters and buffers, one tensor at a time (so peak
/// memory is the model plus one tensor), converting dtype on the way. A parameter of a model built on
/// the meta device is replaced by the tensor read from the file (nothing allocated twice); a real one
/// is copied into. Shapes are checked (TorchSharp's own load_state_dict checks only names); every
/// problem names the file and the key.
/// </summary>
public sealed class WeightLoader
{
    readonly nn.Module _root;
    readonly Dictionary<string, Tensor> _targets;
    readonly HashSet<string> _loaded = new(StringComparer.Ordinal);
    readonly IReadOnlyCollection<string> _handled;

    /// <param name="handled">
    /// module paths whose tensors were put in place by someone else (quantize-on-load): their
    /// parameters and buffers are not targets, and checkpoint keys that map under them are passed over
    /// </param>
    public WeightLoader(nn.Module root, IReadOnlyCollection<string>? handled = null)
    {
        _root = root;
        _handled = handled ?? [];
        _targets = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in root.named_parameters()) if (!IsHandled(name)) _targets[name] = p;
        foreach (var (name, b) in root.named_buffers()) if (!IsHandled(name)) _targets.TryAdd(name, b);
    }

    bool IsHandled(string name) => _handled.Any(m => name.StartsWith(m + ".", StringComparison.Ordinal));

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
            if (name is not null && IsHandled(name)) continue;
            if (name is null || !_targets.TryGetValue(name, out var target)) { unexpected.Add(key); continue; }
            var entry = checkpoint.Entry(key);
            if (!entry.Shape.SequenceEqual(target.shape))
                throw new InvalidDataException(
                    $"{entry.File}: tensor '{key}' has shape [{string.Join(", ", entry.Shape)}] but the model's '{name}' is [{string.Join(", ", target.shape)}] (config.json does not match the weights)");
            // a swapped-in tensor must already have the model's dtype; a copy converts on the way
            Put(name, target, target.is_meta ? checkpoint.Load(key, target.dtype) : checkpoint.Load(key));
            _loaded.Add(name);
            count++;
        }
        if (unexpected.Count > 0)
            throw new InvalidDataException(
                $"{checkpoint.Folder}: {unexpected.Count} tensor(s) match no module of the model, e.g. {string.Join(", ", unexpected.Take(5))} (wrong architecture or an unsupported key layout)");
        return count;
    }

    /// <summary>
    /// Makes <paramref name="value"/> (a CPU tensor, taken over; of the target's dtype when the target is on meta) the content of
    /// the parameter <paramref name="name"/>: swapped in when the target is on the meta device (a copy
    /// into a meta tensor would silently do nothing), copied into otherwise.
    /// </summary>
    public void Put(string name, Tensor target, Tensor value)
    {
        if (target.is_meta)
        {
            if (target is not TorchSharp.Modules.Parameter)
                throw new InvalidOperationException($"'{name}' is a buffer on the meta device; only parameters are swapped in");
            _targets[name] = ParameterSwap.Set(_root, name, value, target.requires_grad);
            return;
        }
        using (no_grad())
        using (value)
            target.copy_(value);
    }

    /// <summary>The model's parameter or buffer <paramref name="name"/> as this loader sees it now.</summary>
    public Tensor Target(string name) => _targets[name];

    /// <summary>Throws if a parameter under <paramref name="prefix"/> was not loaded (tied weights excepted).</summary>
    public void RequireLoaded(string prefix, string origin, IEnumerable<string>? exempt = null)
    {
        var skip = new HashSet<string>(exempt ?? [], StringComparer.Ordinal);
        var missing = _targets.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !_loaded.Contains(k) && !skip.Contains(k)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{origin}: {missing.Count} weight(s) missing from the checkpoint, e.g. {string.Join(", ", missing.Take(5))}");
    }
}
