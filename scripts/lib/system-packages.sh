# shellcheck shell=bash
# Installs the Debian packages that jvpn's scripts and tests need, from the one list in
# system-packages.txt, saying what it installs and why:
#   ensure_binaries BIN...          the packages behind these binaries, where missing
#   ensure_system_packages GROUP... every binary of these groups (demo, test, bench)
# Without root or apt-get they name the missing binaries and the install command instead, and return 1.

SYSTEM_PACKAGES_FILE="$(dirname "${BASH_SOURCE[0]}")/system-packages.txt"

have_binary() { # have_binary NAME: in PATH or in an sbin directory a non-login PATH may lack
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

package_of() { # package_of BINARY: its Debian package from the list, or nothing
    awk -v b="$1" '$1 == b { print $2; exit }' "$SYSTEM_PACKAGES_FILE"
}

ensure_binaries() {
    local binary package
    local -a missing=() packages=() unknown=()
    for binary in "$@"; do
        have_binary "$binary" && continue
        missing+=("$binary")
        package=$(package_of "$binary")
        if [ -z "$package" ]; then
            unknown+=("$binary")
        elif [[ " ${packages[*]} " != *" $package "* ]]; then
            packages+=("$package")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0

    echo "missing: ${missing[*]}" >&2
    if [ "${#unknown[@]}" -gt 0 ]; then
        # dotnet is the one prerequisite no Debian package provides.
        echo "not installable from Debian: ${unknown[*]} (install the .NET 10 SDK for dotnet)" >&2
        return 1
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "install them with: sudo apt-get install ${packages[*]}" >&2
        return 1
    fi
    echo "installing Debian packages: ${packages[*]} (for ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${packages[@]}"
}

ensure_system_packages() {
    local -a binaries
    mapfile -t binaries < <(awk -v want=" $* " '
        /^[ \t]*(#|$)/ { next }
        { for (i = 3; i <= NF; i++) if (index(want, " " $i " ")) { print $1; next } }' "$SYSTEM_PACKAGES_FILE")
    ensure_binaries "${binaries[@]}"
}
