// The Audit page's day filters: a date typed or picked, as a local day.

import { DatePicker } from "@fluentui/react-datepicker-compat";
import { useEffect, useRef, useState } from "react";
import { formatLocalDay, parseLocalDay, startOfDayIso } from "../../lib/time";

/** Dates are typed as YYYY-MM-DD or picked from a calendar (a native date input renders inconsistently across webviews). */
export function dateError(s: string): string | undefined {
  if (s === "") return undefined;
  return startOfDayIso(s) === null ? "Enter a date as YYYY-MM-DD." : undefined;
}

// Module-level (stable): the picker rewrites its text whenever formatDate changes.
const formatPickerDay = (d?: Date): string => (d ? formatLocalDay(d) : "");

/**
 * A day filter: Fluent's DatePicker with typing allowed. The filter is the
 * text (YYYY-MM-DD, a local day, as typed or as a picked day is written), so
 * the page reads typed and picked days the same way. The picker's own idea of
 * the selected day is kept in step: a change from outside (Clear filters)
 * remounts it, and typed text it refuses on leaving the field (not a date) is
 * reported, because it then puts back the previous day.
 */
export function DayPicker({
  text,
  onText,
  onRefused,
  className,
  placeholder,
}: {
  text: string;
  onText: (text: string) => void;
  onRefused: (typed: string) => void;
  className: string;
  placeholder: string;
}) {
  const reported = useRef(text);
  const typed = useRef(text);
  const [value, setValue] = useState<Date | null>(() => parseLocalDay(text));
  const selected = useRef<Date | null>(value);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (text === reported.current) return;
    reported.current = text;
    selected.current = parseLocalDay(text);
    setValue(selected.current);
    setGeneration((g) => g + 1);
  }, [text]);
  const report = (t: string) => {
    reported.current = t;
    onText(t);
  };
  return (
    <DatePicker
      key={generation}
      className={className}
      placeholder={placeholder}
      allowTextInput
      openOnClick={false}
      disableAutoFocus
      value={value}
      formatDate={formatPickerDay}
      parseDateFromString={parseLocalDay}
      onChange={(_, d) => {
        typed.current = d.value;
        report(d.value);
      }}
      onSelectDate={(d) => {
        if (!d) {
          // The field was emptied. (null also comes while typing, when the
          // picker checks the text it had before the keystroke: the typed
          // text is what onChange reported.)
          if (reported.current.trim() === "") {
            selected.current = null;
            setValue(null);
          }
          return;
        }
        selected.current = d;
        setValue(d);
        report(formatLocalDay(d));
      }}
      onValidationResult={({ error }) => {
        if (error !== "invalid-input") return;
        // The picker has put back the previous day (and told onSelectDate).
        report(selected.current ? formatLocalDay(selected.current) : "");
        onRefused(typed.current);
      }}
    />
  );
}
