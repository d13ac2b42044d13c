using System.Text;
using static TorchSharp.torch;

namespace MultiLora.Core.Optim;

/// <summary>
/// Reads the optimizer.bin that TorchSharp 0.107's AdamW.save_state_dict writes (MultiLora's checkpoints before it had
/// its own AdamW), so those checkpoints still resume: the type name "AdamW", LEB128 counts of groups and states, each
/// group's options (initial lr, lr, beta1, beta2, eps, weight decay as doubles; amsgrad, maximize as bools), then each
/// parameter's state in the optimizer's order (groups in order, their parameters in order): step (int64), exp_avg,
/// exp_avg_sq (each as LEB128 dtype, rank, dims, then the raw bytes), a bool and, when true, max_exp_avg_sq.
/// The file names no parameters: the caller maps states to names by that order.
/// </summary>
public sealed class TorchSharpAdamWFile : IDisposable
{
    public sealed record Group(double Lr, double Beta1, double Beta2, double Eps, double WeightDecay);
    public sealed record State(long Step, Tensor ExpAvg, Tensor ExpAvgSq);

    public IReadOnlyList<Group> Groups { get; }
    public IReadOnlyList<State> States { get; }

    TorchSharpAdamWFile(List<Group> groups, List<State> states) { Groups = groups; States = states; }

    public static TorchSharpAdamWFile Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: optimizer state not found", path);
        var states = new List<State>();
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            string type = reader.ReadString();
            if (type != "AdamW") throw new InvalidDataException($"{path}: TorchSharp optimizer state of a {type}, not an AdamW");
            long groupCount = Leb128(reader, path), stateCount = Leb128(reader, path);
            var groups = new List<Group>();
            for (long g = 0; g < groupCount; g++)
            {
                reader.ReadDouble();   // the initial learning rate: the schedule recomputes the rate
                var group = new Group(reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble());
                bool amsgrad = reader.ReadBoolean(), maximize = reader.ReadBoolean();
                if (amsgrad || maximize) throw new InvalidDataException($"{path}: group {g} has amsgrad or maximize on, which MultiLora never trained with");
                groups.Add(group);
            }
            for (long s = 0; s < stateCount; s++)
            {
                long step = reader.ReadInt64();
                var expAvg = ReadTensor(reader, path);
                var expAvgSq = ReadTensor(reader, path);
                states.Add(new State(step, expAvg, expAvgSq));
                if (reader.ReadBoolean()) throw new InvalidDataException($"{path}: state {s} has an amsgrad maximum, which MultiLora never trained with");
            }
            if (reader.BaseStream.Position != reader.BaseStream.Length)
                throw new InvalidDataException($"{path}: {reader.BaseStream.Length - reader.BaseStream.Position} bytes after the last state (not a TorchSharp AdamW state?)");
            return new TorchSharpAdamWFile(groups, states);
        }
        catch (EndOfStreamException e)
        {
            foreach (var st in states) { st.ExpAvg.Dispose(); st.ExpAvgSq.Dispose(); }
            throw new InvalidDataException($"{path}: truncated TorchSharp AdamW state ({e.Message})");
        }
        catch
        {
            foreach (var st in states) { st.ExpAvg.Dispose(); st.ExpAvgSq.Dispose(); }
            throw;
        }
    }

    static Tensor ReadTensor(BinaryReader reader, string path)
    {
        var dtype = (ScalarType)Leb128(reader, path);
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64))
            throw new InvalidDataException($"{path}: a moment of dtype {dtype}, not a floating-point type");
        long rank = Leb128(reader, path);
        if (rank > 8) throw new InvalidDataException($"{path}: a moment of rank {rank} (not a TorchSharp AdamW state?)");
        var shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = Leb128(reader, path);
        var t = empty(shape, dtype);
        try
        {
            // Tensor.bytes spans at most int.MaxValue bytes: read big moments row block by row block
            long rows = rank == 0 ? 1 : shape[0];
            long rowBytes = rows == 0 ? 0 : t.numel() * t.ElementSize / rows;
            long rowsPerChunk = Math.Max(1, (int.MaxValue / 2) / Math.Max(1, rowBytes));
            if (rank == 0 || rowsPerChunk >= rows) reader.BaseStream.ReadExactly(t.bytes);
            else
                for (long r = 0; r < rows; r += rowsPerChunk)
                {
                    using var slice = t.narrow(0, r, Math.Min(rowsPerChunk, rows - r));
                    reader.BaseStream.ReadExactly(slice.bytes);
                }
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Converts the states into <paramref name="optimizer"/>'s, by position: the optimizer must list its groups and
    /// parameters in the order the TorchSharp AdamW that wrote the file had them. Shapes and dtypes are checked per
    /// parameter, by name. A state of step 0 (TorchSharp made every state eagerly) is no state.
    /// </summary>
    public void RestoreInto(AdamW optimizer, string path)
    {
        var parameters = optimizer.Parameters.ToList();
        if (Groups.Count != optimizer.Groups.Count || States.Count != parameters.Count)
            throw new InvalidDataException($"{path}: {Groups.Count} group(s) and {States.Count} parameter state(s), this run trains {optimizer.Groups.Count} group(s) and {parameters.Count} parameter(s) (made with another method or model?)");
        for (int i = 0; i < parameters.Count; i++)
        {
            var (name, p) = parameters[i];
            var s = States[i];
            if (!s.ExpAvg.shape.SequenceEqual(p.shape) || s.ExpAvg.dtype != p.dtype)
                throw new InvalidDataException($"{path}: state {i} is {s.ExpAvg.dtype} [{string.Join(", ", s.ExpAvg.shape)}], the run's parameter {i} '{name}' is {p.dtype} [{string.Join(", ", p.shape)}]");
            if (s.Step == 0) optimizer.Restore(name, 0, null, null);
            else optimizer.Restore(name, s.Step, s.ExpAvg, s.ExpAvgSq);
        }
    }

    /// <summary>TorchSharp's LEB128 (unsigned, 7 bits per byte, low first).</summary>
    static long Leb128(BinaryReader reader, string path)
    {
        long result = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (shift > 56) throw new InvalidDataException($"{path}: a LEB128 count longer than 8 bytes (not a TorchSharp AdamW state?)");
            long b = reader.ReadByte();
            result |= (b & 0x7f) << shift;
            if ((b & 0x80) == 0) return result;
        }
    }

    public void Dispose()
    {
        foreach (var s in States) { s.ExpAvg.Dispose(); s.ExpAvgSq.Dispose(); }
    }
}
