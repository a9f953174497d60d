// STM32F4 GPIO driver (RM0090 §8): pin configuration, output through BSRR, input, and the
// configuration lock. Register offsets and fields come from registers/stm32f4/gpio.json through
// assembly/generated/gpio.ts; config bits from registers/api-stm32f4.json. Usage:
// docs/drivers/stm32f4.md, "GPIO". The port's clock must be enabled first (stm32_rcc_enable).
import { read32, write32, modify32 } from "../mmio";
import { isValidBase } from "../common";
import {
  GPIO_MODER, GPIO_MODER_MODER0_MASK, GPIO_OTYPER, GPIO_OTYPER_OT0, GPIO_OSPEEDR, GPIO_OSPEEDR_OSPEEDR0_MASK,
  GPIO_PUPDR, GPIO_PUPDR_PUPDR0_MASK, GPIO_IDR, GPIO_ODR, GPIO_BSRR, GPIO_BSRR_BS0, GPIO_BSRR_BR0,
  GPIO_LCKR, GPIO_LCKR_LCKK, GPIO_AFRL, GPIO_AFRL_AFRL0_MASK, GPIO_AFRH,
} from "../generated/gpio";
import {
  OK, ERR_INVALID_ARG, ERR_LOCK_FAILED,
  STM32_GPIO_PINS_MASK, STM32_GPIO_PIN_MAX, STM32_GPIO_MODE_MASK, STM32_GPIO_MODE_AF, STM32_GPIO_OPEN_DRAIN,
  STM32_GPIO_SPEED_MASK, STM32_GPIO_SPEED_SHIFT, STM32_GPIO_PULL_MASK, STM32_GPIO_PULL_SHIFT,
  STM32_GPIO_AF_MASK, STM32_GPIO_AF_SHIFT, STM32_GPIO_CONFIG_VALID_MASK,
} from "../generated/api";

// Every pin has pin 0's field, shifted: 2 bits per pin in MODER, OSPEEDR and PUPDR, 1 in OTYPER,
// 4 in AFRL (pins 0-7) and AFRH (pins 8-15) (RM0090 §8.4.1-8.4.4, §8.4.9, §8.4.10).
@inline const TWO_BIT_FIELD: u32 = 2;
@inline const AF_FIELD_WIDTH: u32 = 4;
/** Pins per alternate-function register: AFRL holds pins 0-7, AFRH pins 8-15. */
@inline const PINS_PER_AFR: u32 = 8;
/** PUPDR code 11 is reserved (RM0090 §8.4.4). */
@inline const PULL_RESERVED: u32 = 3;
/** BSRR: BSy at bit y sets ODRy, BRy at bit y + 16 clears it (RM0090 §8.4.7). */
@inline const BSRR_SET_SHIFT: u32 = ctz(GPIO_BSRR_BS0);
@inline const BSRR_RESET_SHIFT: u32 = ctz(GPIO_BSRR_BR0);

/**
 * Configures pin `pin` (0..15) of the port at `port_base` from `config` (STM32_GPIO_* bits:
 * mode, open-drain, speed, pull, alternate function). Returns OK or ERR_INVALID_ARG (pin > 15,
 * reserved config bits, pull code 3, an alternate function number without STM32_GPIO_MODE_AF);
 * no register is touched then.
 */
export function stm32_gpio_configure(port_base: u32, pin: u32, config: u32): i32 {
  if (!isValidBase(port_base) || pin > STM32_GPIO_PIN_MAX) return ERR_INVALID_ARG;
  if ((config & ~STM32_GPIO_CONFIG_VALID_MASK) != 0) return ERR_INVALID_ARG;
  const pull = (config & STM32_GPIO_PULL_MASK) >> STM32_GPIO_PULL_SHIFT;
  if (pull == PULL_RESERVED) return ERR_INVALID_ARG;
  const mode = config & STM32_GPIO_MODE_MASK;
  const af = (config & STM32_GPIO_AF_MASK) >> STM32_GPIO_AF_SHIFT;
  if (af != 0 && mode != STM32_GPIO_MODE_AF) return ERR_INVALID_ARG;
  const speed = (config & STM32_GPIO_SPEED_MASK) >> STM32_GPIO_SPEED_SHIFT;

  const twoBitShift = pin * TWO_BIT_FIELD;
  const afShift = (pin % PINS_PER_AFR) * AF_FIELD_WIDTH;
  const afRegister = pin < PINS_PER_AFR ? GPIO_AFRL : GPIO_AFRH;
  // The registers are plain read/write (RM0090 §8.4): each field is changed by a
  // read-modify-write that leaves the other 15 pins alone.
  //
  // MODER is written last. Until then the pin keeps its old mode, so it never drives with a
  // half-set configuration: an output pin starts with the pull, output type and speed it was
  // asked for, not push-pull at the old speed (OTYPER, OSPEEDR before MODER), and an alternate-
  // function pin connects straight to its own function, not to whatever AFR selected before,
  // such as AF0, the system function (AFR before MODER; RM0090 §8.3.2, §8.3.7).
  modify32(port_base + GPIO_PUPDR, GPIO_PUPDR_PUPDR0_MASK << twoBitShift, pull << twoBitShift);
  modify32(port_base + GPIO_OTYPER, GPIO_OTYPER_OT0 << pin, (config & STM32_GPIO_OPEN_DRAIN) != 0 ? GPIO_OTYPER_OT0 << pin : 0);
  modify32(port_base + GPIO_OSPEEDR, GPIO_OSPEEDR_OSPEEDR0_MASK << twoBitShift, speed << twoBitShift);
  modify32(port_base + afRegister, GPIO_AFRL_AFRL0_MASK << afShift, af << afShift);
  modify32(port_base + GPIO_MODER, GPIO_MODER_MODER0_MASK << twoBitShift, mode << twoBitShift);
  return OK;
}

/**
 * Drives the pins of `mask` to the levels in `value` (bit n = pin n; value bits outside mask are
 * ignored) with exactly one BSRR write: set bits in the low half, reset bits in the high half
 * (RM0090 §8.3.5, §8.4.7). ODR is neither read nor written, so pins outside `mask` cannot be
 * changed by a concurrent update. Returns OK or ERR_INVALID_ARG (bits above 15).
 */
export function stm32_gpio_write(port_base: u32, mask: u32, value: u32): i32 {
  if (!isValidBase(port_base) || (mask & ~STM32_GPIO_PINS_MASK) != 0 || (value & ~STM32_GPIO_PINS_MASK) != 0) return ERR_INVALID_ARG;
  const set = mask & value;
  const reset = mask & ~value;
  write32(port_base + GPIO_BSRR, (set << BSRR_SET_SHIFT) | (reset << BSRR_RESET_SHIFT));
  return OK;
}

/**
 * Inverts the output latch of the pins of `mask`: one read of ODR, then one BSRR write that
 * resets the pins that were 1 and sets those that were 0. ODR itself is never written, so only
 * the pins of `mask` can change. Returns OK or ERR_INVALID_ARG.
 */
export function stm32_gpio_toggle(port_base: u32, mask: u32): i32 {
  if (!isValidBase(port_base) || (mask & ~STM32_GPIO_PINS_MASK) != 0) return ERR_INVALID_ARG;
  const odr = read32(port_base + GPIO_ODR) & STM32_GPIO_PINS_MASK;
  write32(port_base + GPIO_BSRR, ((mask & ~odr) << BSRR_SET_SHIFT) | ((mask & odr) << BSRR_RESET_SHIFT));
  return OK;
}

/** The levels of the port's 16 pins (IDR, RM0090 §8.4.5), or ERR_INVALID_ARG. */
export function stm32_gpio_read(port_base: u32): i32 {
  if (!isValidBase(port_base)) return ERR_INVALID_ARG;
  return <i32>(read32(port_base + GPIO_IDR) & STM32_GPIO_PINS_MASK);
}

/**
 * Locks the configuration (MODER, OTYPER, OSPEEDR, PUPDR, AFRL/H) of the pins of `mask` until the
 * next MCU or port reset, with the key sequence of RM0090 §8.3.6 / §8.4.8. Returns OK when LCKK
 * reads 1 at the end, ERR_LOCK_FAILED when it does not (the port was already locked, so LCKR no
 * longer takes a sequence, or the block does not implement the lock), ERR_INVALID_ARG for bits
 * above 15 (no register touched). A mask of 0 locks no pin but still sets LCKK.
 */
export function stm32_gpio_lock(port_base: u32, mask: u32): i32 {
  if (!isValidBase(port_base) || (mask & ~STM32_GPIO_PINS_MASK) != 0) return ERR_INVALID_ARG;
  const lckr = port_base + GPIO_LCKR;
  // The key: LCKK = 1, 0, 1, each a 32-bit write with the same LCK bits; any other access or
  // a change of mask in between aborts the sequence (RM0090 §8.4.8).
  write32(lckr, GPIO_LCKR_LCKK | mask);
  write32(lckr, mask);
  write32(lckr, GPIO_LCKR_LCKK | mask);
  // 4. The read that completes the sequence; 5. a second read, which shows LCKK = 1 once the
  // lock is active (RM0090 §8.4.8 "optional" read, needed here to report the outcome).
  read32(lckr);
  return (read32(lckr) & GPIO_LCKR_LCKK) != 0 ? OK : ERR_LOCK_FAILED;
}
