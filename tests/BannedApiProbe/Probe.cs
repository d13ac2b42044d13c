using TorchSharp;
using static TorchSharp.torch;

namespace BannedApiProbe;

// Each line marked "banned" must fail the build with RS0030; the lines marked "allowed" must not.
public static class Probe
{
    public static Tensor Calls(Tensor x, Scalar kept)
    {
        var a = x.mul(2.0);                          // banned: implicit double -> Scalar conversion
        var b = x * kept;                            // allowed: Tensor * Scalar has no hidden Scalar
        var c = a + b;                               // banned: Tensor + Tensor passes a temporary alpha
        var d = c.add(kept);                         // banned: add(Scalar) passes a temporary alpha
        var e = d.add(kept, kept);                   // allowed: every Scalar explicit
        var f = e.square();                          // banned: pow(2) with a temporary exponent
        using var optimizer = optim.SGD([new TorchSharp.Modules.Parameter(f)], 0.1);   // banned: factory of a banned optimizer type
        return f - x;                                // allowed: Tensor - Tensor is a plain native sub
    }
}
