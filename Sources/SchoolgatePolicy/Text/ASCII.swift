extension UInt8 {
    /// The byte lower-cased if it is an ASCII capital letter, as host names, paths and HTTP field
    /// names are compared; every other byte (UTF-8 included) as it is.
    @inline(__always)
    public var asciiLowercased: UInt8 {
        self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z") ? self | 0x20 : self
    }
}
