using System.Runtime.InteropServices;

namespace MultiLora.Distributed.Nccl;

/// <summary>
/// Where the CUDA-side libraries of a PyTorch install live: next to libtorch (LIBTORCH_DIR, conda builds bundle
/// them there) or in the pip wheels beside torch (site-packages/nvidia/&lt;package&gt;/lib), then the system's.
/// </summary>
static class NativeLibraryPath
{
    /// <summary>Candidate paths/names for <paramref name="file"/>: the override variable alone when set.</summary>
    public static IReadOnlyList<string> Candidates(string overrideVariable, string file, string wheelPackage)
    {
        if (Environment.GetEnvironmentVariable(overrideVariable) is { Length: > 0 } configured) return [configured.Trim()];
        var list = new List<string>();
        if (Environment.GetEnvironmentVariable("LIBTORCH_DIR") is { Length: > 0 } torchLib)
        {
            list.Add(Path.Combine(torchLib, file));
            list.Add(Path.GetFullPath(Path.Combine(torchLib, "..", "..", "nvidia", wheelPackage, "lib", file)));
        }
        list.Add(file);
        return list;
    }

    /// <summary>The first candidate that loads, or null with every attempt's error.</summary>
    public static nint TryLoad(IReadOnlyList<string> candidates, out string path, out string errors)
    {
        var failures = new List<string>();
        foreach (var candidate in candidates)
        {
            if (Path.IsPathRooted(candidate) && !File.Exists(candidate)) { failures.Add($"{candidate}: not found"); continue; }
            try
            {
                var handle = NativeLibrary.Load(candidate);
                path = candidate;
                errors = "";
                return handle;
            }
            catch (DllNotFoundException e) { failures.Add($"{candidate}: {e.Message.Split('\n')[0]}"); }
        }
        path = "";
        errors = string.Join("; ", failures);
        return 0;
    }
}
