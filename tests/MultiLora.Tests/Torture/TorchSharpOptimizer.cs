using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using MultiLora.Llava.Training;

namespace MultiLora.Tests.Torture;

/// <summary>
/// Until issue 15's own AdamW lands, the trainer still steps TorchSharp's AdamW (allowed by a scoped
/// `#pragma warning disable RS0030`), whose step makes temporary Scalars we cannot reach. While it does, the
/// training torture tests check results only; once MultiLora.Llava no longer references that type they also
/// require that no Scalar was finalised, with no edit to the tests.
/// </summary>
static class TorchSharpOptimizer
{
    public static bool StillInUse { get; } = ReferencesTorchSharpAdamW();

    static bool ReferencesTorchSharpAdamW()
    {
        using var pe = new PEReader(File.OpenRead(typeof(Trainer).Assembly.Location));
        var md = pe.GetMetadataReader();
        return md.TypeReferences.Select(md.GetTypeReference)
            .Any(t => md.GetString(t.Namespace) == "TorchSharp.Modules" && md.GetString(t.Name) == "AdamW");
    }
}
