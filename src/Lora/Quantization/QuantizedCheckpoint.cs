using MultiLora.Core.Safetensors;
using MultiLora.Lora.Surgery;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Module = TorchSharp.torch.nn.Module;

namespace MultiLora.Lora.Quantization;

/// <summary>
/// Saves / loads a model whose linears are quantized, with bitsandbytes' key names (what
/// transformers writes for a 4-bit or 8-bit model): for NF4 "X.weight" (packed uint8 [n/2, 1]),
/// "X.weight.absmax", "X.weight.quant_map", "X.weight.nested_absmax", "X.weight.nested_quant_map",
/// "X.weight.quant_state.bitsandbytes__nf4"; for int8 "X.weight" (int8) and "X.SCB". Every other
/// tensor is saved under its state_dict name.
/// </summary>
public static class QuantizedCheckpoint
{
    public static void Save(Module root, string path)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var owned = new List<Tensor>();
        var quantizedPaths = new List<string>();
        foreach (var (p, m) in root.named_modules())
        {
            switch (m)
            {
                case Nf4Linear q:
                    quantizedPaths.Add(p);
                    AddNf4(p, q, tensors, owned);
                    break;
                case Int8Linear q:
                    quantizedPaths.Add(p);
                    tensors[$"{p}.weight"] = q.QuantizedWeight;
                    tensors[$"{p}.SCB"] = q.RowAbsmax;
                    if (q.Bias is not null) tensors[$"{p}.bias"] = q.Bias;
                    break;
            }
        }
        foreach (var (key, t) in root.state_dict())
            if (!quantizedPaths.Any(p => key.StartsWith(p + ".", StringComparison.Ordinal)))
                tensors[key] = t;
        try { SafetensorsWriter.Write(path, tensors, SafetensorsWriter.PtMetadata); }
        finally { foreach (var t in owned) t.Dispose(); }
    }

    static void AddNf4(string p, Nf4Linear q, Dictionary<string, Tensor> tensors, List<Tensor> owned)
    {
        Tensor Own(Tensor t) { owned.Add(t); return t; }
        tensors[$"{p}.weight"] = q.PackedWeight;
        tensors[$"{p}.weight.absmax"] = q.Absmax;
        tensors[$"{p}.weight.quant_map"] = Own(Nf4.Codes());
        double? offset = null;
        if (q.NestedAbsmax is not null)
        {
            tensors[$"{p}.weight.nested_absmax"] = q.NestedAbsmax;
            tensors[$"{p}.weight.nested_quant_map"] = Own(tensor(q.NestedCodes.ToArray()));
            offset = q.NestedOffset!.to(ScalarType.Float32).item<float>();
        }
        var state = new BitsAndBytesQuantState("nf4", q.BlockSize, BitsAndBytesQuantState.DTypeName(q.OriginalDType),
            [q.OutFeatures, q.InFeatures],
            q.DoubleQuant ? DynamicMap8.NestedBlockSize : null, q.DoubleQuant ? "float32" : null, offset);
        tensors[p + BitsAndBytesQuantState.KeySuffix] = Own(state.ToTensor());
        if (q.Bias is not null) tensors[$"{p}.bias"] = q.Bias;
    }

    /// <summary>
    /// Loads a checkpoint written by <see cref="Save"/> (or by transformers for a bitsandbytes nf4/int8
    /// model; single file or shards) into a tree of the same architecture: each quantized entry replaces
    /// the module at its path (nn.Linear or an earlier quantized layer, disposed), every other tensor is
    /// copied into the parameter or buffer of the same name, or becomes that parameter when the tree was
    /// built on the meta device. <paramref name="map"/> turns a stored key into the tree's name (null: a key
    /// that carries nothing to load); names must match both ways.
    /// </summary>
    public static List<string> Load(Module root, SafetensorsCheckpoint checkpoint, Func<string, string?> map)
    {
        var file = new MappedTensors(checkpoint, map);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var replaced = new List<string>();

        foreach (var key in file.Names.Where(k => k.EndsWith(BitsAndBytesQuantState.KeySuffix, StringComparison.Ordinal)).ToList())
        {
            string p = key[..^BitsAndBytesQuantState.KeySuffix.Length];
            string where = file.Where(key, p);
            using var stateBytes = file.Load(key);
            var state = BitsAndBytesQuantState.FromTensor(stateBytes, where);
            if (state.QuantType != "nf4") throw new InvalidDataException($"{where}: quant_type '{state.QuantType}' is not supported (only nf4)");
            if (state.Shape.Length != 2) throw new InvalidDataException($"{where}: shape [{string.Join(", ", state.Shape)}] is not 2-D");
            CheckMap(file, $"{p}.weight.quant_map", Nf4.CodeValues, where);
            Tensor? nested = null, offset = null;
            float[]? nestedCodes = null;
            if (state.NestedBlockSize is { } nbs)
            {
                if (nbs != DynamicMap8.NestedBlockSize) throw new InvalidDataException($"{where}: nested_blocksize {nbs} is not {DynamicMap8.NestedBlockSize}");
                // Kept as saved: bitsandbytes' map varies by an ulp between machines (see DynamicMap8).
                if (file.Contains($"{p}.weight.nested_quant_map"))
                {
                    using var nestedMap = file.Load($"{p}.weight.nested_quant_map", ScalarType.Float32);
                    nestedCodes = nestedMap.data<float>().ToArray();
                }
                nested = Need(file, $"{p}.weight.nested_absmax", where, ScalarType.Float32);
                offset = tensor((float)state.NestedOffset!.Value);
                used.Add($"{p}.weight.nested_absmax"); used.Add($"{p}.weight.nested_quant_map");
            }
            var packed = Need(file, $"{p}.weight", where, null);
            var absmax = Need(file, $"{p}.weight.absmax", where, null);
            Tensor? bias = file.Contains($"{p}.bias") ? file.Load($"{p}.bias") : null;
            var layer = Nf4Linear.FromState(state.Shape[0], state.Shape[1], state.BlockSize,
                BitsAndBytesQuantState.ParseDType(state.DType, where), packed, absmax, nested, offset, bias, where, nestedCodes);
            ReplaceAt(root, p, layer, where);
            used.UnionWith([key, $"{p}.weight", $"{p}.weight.absmax", $"{p}.weight.quant_map", $"{p}.bias"]);
            replaced.Add(p);
        }

        foreach (var key in file.Names.Where(k => k.EndsWith(".SCB", StringComparison.Ordinal)).ToList())
        {
            string p = key[..^".SCB".Length];
            string where = file.Where(key, p);
            var codes = Need(file, $"{p}.weight", where, null);
            var scb = file.Load(key, ScalarType.Float32);
            Tensor? bias = file.Contains($"{p}.bias") ? file.Load($"{p}.bias") : null;
            ReplaceAt(root, p, Int8Linear.FromState(codes, scb, bias, where), where);
            // bitsandbytes >= 0.40 also stores the weight's memory layout ("row" for what it saves)
            used.UnionWith([key, $"{p}.weight", $"{p}.bias", $"{p}.weight_format"]);
            replaced.Add(p);
        }

        var state_ = root.state_dict();
        foreach (var key in file.Names)
        {
            if (used.Contains(key)) continue;
            var entry = file.Entry(key);
            if (!state_.TryGetValue(key, out var target))
                throw new InvalidDataException($"{entry.File}: key '{entry.Name}' matches no parameter or buffer of the model");
            if (!entry.Shape.SequenceEqual(target.shape))
                throw new InvalidDataException($"{entry.File}: key '{entry.Name}' has shape [{string.Join(", ", entry.Shape)}] but the model expects [{string.Join(", ", target.shape)}]");
            if (target.is_meta)
            {
                // a copy into a meta tensor would silently do nothing: the loaded tensor becomes the parameter
                if (target is not TorchSharp.Modules.Parameter)
                    throw new InvalidDataException($"{entry.File}: '{entry.Name}' is a buffer of a model built on the meta device; only parameters can be put in place");
                ParameterSwap.Set(root, key, file.Load(key, target.dtype), target.requires_grad);
            }
            else
            {
                using var t = file.Load(key, target.dtype);
                using (no_grad()) target.copy_(t);
            }
            used.Add(key);
        }
        var missing = state_.Keys.Where(k => !used.Contains(k) && !replaced.Any(p => k.StartsWith(p + ".", StringComparison.Ordinal))).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{checkpoint.Origin}: {missing.Count} model tensor(s) missing from the checkpoint, first '{missing[0]}'");
        return replaced;
    }

    /// <summary>One .safetensors file whose names are the tree's.</summary>
    public static List<string> Load(Module root, string path)
    {
        using var checkpoint = SafetensorsCheckpoint.Open(path);
        return Load(root, checkpoint, key => key);
    }

    /// <summary>A checkpoint seen under the tree's names (the stored names stay in errors, with the file that holds them).</summary>
    sealed class MappedTensors
    {
        readonly SafetensorsCheckpoint _checkpoint;
        readonly Dictionary<string, string> _stored = new(StringComparer.Ordinal);

        public MappedTensors(SafetensorsCheckpoint checkpoint, Func<string, string?> map)
        {
            _checkpoint = checkpoint;
            foreach (var key in checkpoint.Names.Order(StringComparer.Ordinal))
            {
                if (map(key) is not { } name) continue;
                if (!_stored.TryAdd(name, key))
                    throw new InvalidDataException($"{checkpoint.Origin}: keys '{_stored[name]}' and '{key}' both name '{name}'");
            }
        }

        public IEnumerable<string> Names => _stored.Keys;
        public bool Contains(string name) => _stored.ContainsKey(name);
        public TensorEntry Entry(string name) => _checkpoint.Entry(_stored[name]);
        public Tensor Load(string name, ScalarType? dtype = null) => _checkpoint.Load(_stored[name], dtype);

        /// <summary>"file: 'stored module path'" for errors about the quantized module at <paramref name="path"/>.</summary>
        public string Where(string key, string path)
        {
            var entry = Entry(key);
            return $"{entry.File}: '{entry.Name[..^(key.Length - path.Length)]}'";
        }
    }

    static Tensor Need(MappedTensors file, string key, string where, ScalarType? dtype) =>
        file.Contains(key) ? file.Load(key, dtype) : throw new InvalidDataException($"{where}: tensor '{key}' is missing");

    static void CheckMap(MappedTensors file, string key, IReadOnlyList<float> expected, string where)
    {
        if (!file.Contains(key)) return; // transformers always writes it; absence means the standard map
        // NF4's 16 codes are literals in bitsandbytes, identical everywhere: anything else is another format (fp4).
        using var t = file.Load(key, ScalarType.Float32);
        var values = t.data<float>().ToArray();
        if (!values.SequenceEqual(expected))
            throw new InvalidDataException($"{where}: '{key}' is not the standard map MultiLora implements");
    }

    static void ReplaceAt(Module root, string p, Module<Tensor, Tensor> layer, string where)
    {
        if (!ModuleSurgery.Exists(root, p)) { layer.Dispose(); throw new InvalidDataException($"{where}: no module at this path in the model"); }
        var old = ModuleSurgery.Replace(root, p, layer);
        old.Dispose();
    }
}
