# Shared helpers for scripts/*.sh (sourced, not run).

MJA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Install the Debian packages listed in scripts/apt-packages.txt that are
# missing (root only; others get a hint).
mja_install_deps() {
	local pkgs missing=()
	pkgs=$(grep -v '^\s*#' "$MJA_ROOT/scripts/apt-packages.txt" | grep -v '^\s*$')
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages: ${missing[*]} (run as root, or apt-get install them)" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}
