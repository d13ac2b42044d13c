using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace MultiLora.Core.Runtime;

/// <summary>
/// The one place that loads libtorch and TorchSharp's native bridge, before any other TorchSharp use.
/// - <c>LIBTORCH_DIR</c>: a libtorch lib folder (for example a Python PyTorch's torch/lib, CUDA or not)
///   used instead of the NuGet CPU package.
/// - <c>LIBTORCHSHARP_PATH</c>: the libLibTorchSharp.so to load.
/// - On hosts whose libstdc++ predates GCC 13 (Debian 12, Ubuntu 22.04) the bridge is loaded from a
///   patched copy in the user cache (see <see cref="ElfSymbolVersionPatch"/>); newer hosts load the
///   file untouched.
/// </summary>
public static class TorchRuntime
{
    const string BridgeFile = "libLibTorchSharp.so";
    static readonly object Gate = new();
    static readonly Dictionary<string, IntPtr> Handles = new(StringComparer.Ordinal);
    static bool _loaded;
    static bool _cudaInitialized;

    /// <summary>What was loaded, for `multilora inspect` and error messages.</summary>
    public static string Description { get; private set; } = "not loaded";

    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            if (OperatingSystem.IsLinux()) LoadLinux();
            torch.InitializeDeviceType(DeviceType.CPU);
            _loaded = true;
        }
    }

    /// <summary>Resolves --device (cpu|cuda|auto, or cuda:N) to a torch device, loading the runtime.</summary>
    public static torch.Device ResolveDevice(string choice)
    {
        EnsureLoaded();
        string c = choice.Trim().ToLowerInvariant();
        if (c is "cpu") return torch.CPU;
        if (c is "auto") return TryInitCuda() ? torch.CUDA : torch.CPU;
        if (c.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!TryInitCuda())
                throw new InvalidOperationException(
                    $"--device {choice}: CUDA is not available ({Description}). Build with -p:TorchBackend=cuda or set LIBTORCH_DIR to a CUDA libtorch (for example a PyTorch install's torch/lib).");
            return new torch.Device(c);
        }
        throw new ArgumentException($"--device {choice}: expected cpu, cuda, cuda:N or auto");
    }

    /// <summary>Resolves --dtype (float32|bfloat16|float16, also fp32/bf16/fp16) to a scalar type.</summary>
    public static torch.ScalarType ResolveDType(string choice) => choice.Trim().ToLowerInvariant() switch
    {
        "float32" or "fp32" or "float" => torch.ScalarType.Float32,
        "bfloat16" or "bf16" => torch.ScalarType.BFloat16,
        "float16" or "fp16" or "half" => torch.ScalarType.Float16,
        _ => throw new ArgumentException($"--dtype {choice}: expected float32, bfloat16 or float16"),
    };

    /// <summary>Whether a CUDA device can be used (initialises CUDA on first call; false on a CPU-only libtorch).</summary>
    public static bool CudaAvailable()
    {
        EnsureLoaded();
        return TryInitCuda();
    }

    /// <summary>
    /// The address of an exported symbol (a C++ name in its mangled form) in one of the libtorch libraries this
    /// process loaded (c10, torch_cpu, c10_cuda, torch_cuda, torch), for the few libtorch facilities TorchSharp
    /// does not wrap (the CUDA allocator's statistics).
    /// </summary>
    public static bool TryGetExport(string symbol, out IntPtr address)
    {
        EnsureLoaded();
        lock (Gate)
        {
            foreach (var (name, handle) in Handles)
                if (name != "LibTorchSharp" && NativeLibrary.TryGetExport(handle, symbol, out address)) return true;
        }
        address = IntPtr.Zero;
        return false;
    }

    static bool TryInitCuda()
    {
        lock (Gate)
        {
            if (_cudaInitialized) return true;
            try
            {
                torch.InitializeDeviceType(DeviceType.CUDA);
                _cudaInitialized = torch.cuda.is_available();
            }
            catch (Exception) { _cudaInitialized = false; }
            return _cudaInitialized;
        }
    }

    static void LoadLinux()
    {
        string? libtorchDir = Environment.GetEnvironmentVariable("LIBTORCH_DIR");
        string? bridgeOverride = Environment.GetEnvironmentVariable("LIBTORCHSHARP_PATH");

        string torchDir = !string.IsNullOrEmpty(libtorchDir)
            ? (Directory.Exists(libtorchDir) ? libtorchDir : throw new DirectoryNotFoundException($"LIBTORCH_DIR={libtorchDir}: folder not found"))
            : FindNativeFolder("libtorch_cpu.so")
              ?? throw new FileNotFoundException("libtorch_cpu.so not found next to the application or in the NuGet cache (package libtorch-cpu-linux-x64); set LIBTORCH_DIR to a libtorch lib folder");

        // Dependencies first, by full path, so the bridge's DT_NEEDED entries resolve to them whatever folder it sits in.
        foreach (var lib in new[] { "libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so" })
        {
            string path = Path.Combine(torchDir, lib);
            if (!File.Exists(path)) continue;
            Handles[Path.GetFileNameWithoutExtension(lib)[3..]] = NativeLibrary.Load(path);
        }

        string bridge = !string.IsNullOrEmpty(bridgeOverride)
            ? (File.Exists(bridgeOverride) ? bridgeOverride : throw new FileNotFoundException($"LIBTORCHSHARP_PATH={bridgeOverride}: file not found"))
            : FindNativeFolder(BridgeFile) is { } dir
                ? Path.Combine(dir, BridgeFile)
                : throw new FileNotFoundException($"{BridgeFile} not found next to the application or in the NuGet cache (package TorchSharp)");

        bool patched = false;
        if (ElfSymbolVersionPatch.HostLibStdCxxNeedsPatch())
        {
            bridge = PatchedCopy(bridge);
            patched = true;
        }
        Handles["LibTorchSharp"] = NativeLibrary.Load(bridge);
        NativeLibrary.SetDllImportResolver(typeof(torch).Assembly, Resolve);
        Description = $"libtorch from {torchDir}; bridge {bridge}{(patched ? " (patched for libstdc++ < GLIBCXX_3.4.32)" : "")}";
    }

    /// <summary>
    /// A function exported by TorchSharp's native bridge (libLibTorchSharp), for the few calls the managed API
    /// does not expose (e.g. THSTensor_data: a tensor's data pointer whatever its dtype and device).
    /// </summary>
    public static IntPtr BridgeExport(string symbol)
    {
        EnsureLoaded();
        lock (Gate)
        {
            if (Handles.TryGetValue("LibTorchSharp", out var handle) && NativeLibrary.TryGetExport(handle, symbol, out var address)) return address;
        }
        throw new EntryPointNotFoundException($"{symbol} not found in TorchSharp's native bridge ({Description})");
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        string key = name.StartsWith("lib", StringComparison.Ordinal) ? name[3..] : name;
        if (key.EndsWith(".so", StringComparison.Ordinal)) key = key[..^3];
        return Handles.TryGetValue(key, out var h) ? h : IntPtr.Zero;
    }

    /// <summary>Writes (once, atomically) a patched copy of the bridge into the user cache and returns its path.</summary>
    static string PatchedCopy(string original)
    {
        var bytes = File.ReadAllBytes(original);
        string hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))[..16];
        string cacheRoot = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        string dir = Path.Combine(cacheRoot, "multilora", "native", hash);
        string target = Path.Combine(dir, BridgeFile);
        if (File.Exists(target)) return target;
        Directory.CreateDirectory(dir);
        ElfSymbolVersionPatch.Apply(bytes, original);
        string temp = target + "." + Environment.ProcessId + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, target, overwrite: true);
        return target;
    }

    /// <summary>The folder holding <paramref name="file"/>: next to the app, its runtimes folder, or the NuGet cache.</summary>
    static string? FindNativeFolder(string file)
    {
        string app = AppContext.BaseDirectory;
        var candidates = new List<string> { app, Path.Combine(app, "runtimes", "linux-x64", "native") };
        string nuget = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } np
            ? np
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        candidates.Add(Path.Combine(nuget, "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native"));
        candidates.Add(Path.Combine(nuget, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native"));
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, file)));
    }
}
