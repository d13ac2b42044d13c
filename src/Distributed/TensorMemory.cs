using MultiLora.Core.Runtime;
using static TorchSharp.torch;

namespace MultiLora.Distributed;

/// <summary>
/// A tensor's data address for the collective libraries (which take a pointer and a count). TorchSharp's
/// managed storage&lt;T&gt;() converts when T does not match the dtype (a copy, not the tensor's memory) and has
/// no 16-bit float type, so this asks the native bridge for at::Tensor::data_ptr() directly.
/// </summary>
static unsafe class TensorMemory
{
    static delegate* unmanaged<nint, nint> _data;

    /// <summary>The address of a contiguous tensor's first element (a device address for a CUDA tensor).</summary>
    public static nint DataPointer(Tensor t)
    {
        if (!t.is_contiguous()) throw new ArgumentException("collectives need a contiguous tensor");
        if (_data == null) _data = (delegate* unmanaged<nint, nint>)TorchRuntime.BridgeExport("THSTensor_data");
        nint address = _data(t.Handle);
        if (address == 0 && t.NumberOfElements > 0) throw new InvalidOperationException($"no data pointer for a {t.dtype} tensor on {t.device}");
        return address;
    }
}
