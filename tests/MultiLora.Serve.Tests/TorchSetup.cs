using System.Runtime.CompilerServices;
using MultiLora.Core.Runtime;

namespace MultiLora.Serve.Tests;

static class TorchSetup
{
    /// <summary>TorchSharp's static constructor loads the native library, so the runtime bootstrap must run before any test touches torch.</summary>
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Init() => TorchRuntime.EnsureLoaded();
}
